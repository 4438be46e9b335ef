import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { tenantDirName } from '@app/codex-transport';
import { readJsonFile, writeJsonFile } from '../../common/storage/owner-only-file';
import { tenancyConfig } from '../../config/gateway.config';
import type { ResponseObject, ResponseStreamEvent } from './response-object';

/** One input item as `GET /v1/responses/{id}/input_items` lists it. */
export interface MessageInputItem {
  id: string;
  type: 'message';
  role: 'user' | 'system' | 'developer' | 'assistant';
  status: 'completed';
  content: Array<Record<string, unknown>>;
}

/** A function call the model made (sent back by a client that replays its conversation). */
export interface FunctionCallInputItem {
  id: string;
  type: 'function_call';
  call_id: string;
  name: string;
  /** JSON text. */
  arguments: string;
  status: 'completed';
}

/** The client's result for a function call. */
export interface FunctionCallOutputInputItem {
  id: string;
  type: 'function_call_output';
  call_id: string;
  output: string;
  status: 'completed';
}

export type InputItem = MessageInputItem | FunctionCallInputItem | FunctionCallOutputInputItem;

/**
 * What the gateway keeps of a stored response besides codex's own thread: the Response object, where it
 * lives in codex (thread and turn), and its input items.
 */
export interface StoredResponse {
  response: ResponseObject;
  threadId: string;
  turnId: string | null;
  input: InputItem[];
  /**
   * The stream events of a finished response (what `GET /v1/responses/{id}?stream=true` replays). Records
   * written before they were kept here have them in `<id>.events.json` beside the record.
   */
  events?: ResponseStreamEvent[];
}

const RESPONSE_ID = /^resp_[A-Za-z0-9]{1,100}$/;

export function newResponseId(): string {
  return `resp_${randomBytes(24).toString('hex')}`;
}

/**
 * Durable response records, one JSON file per response under `BASE_DATA_DIR/responses/<tenant>/`
 * (tenant names mapped to safe directory names; ids checked against one strict pattern before they
 * touch a path). Files are written whole and renamed into place, owner-only: a response's record when it
 * starts, and once more when it ends, with its stream events.
 */
@Injectable()
export class ResponsesStore {
  constructor(@Inject(tenancyConfig.KEY) private readonly tenancy: ConfigType<typeof tenancyConfig>) {}

  async save(tenant: string, record: StoredResponse): Promise<void> {
    await this.write(tenant, `${record.response.id}.json`, record);
  }

  /** The record, or null when there is none for this tenant (unknown, deleted, or another tenant's). */
  async get(tenant: string, id: string): Promise<StoredResponse | null> {
    return this.read<StoredResponse>(tenant, id, `${id}.json`);
  }

  /** A finished response's stream events: in its record, or in the file of an older record beside it. */
  async events(tenant: string, record: StoredResponse): Promise<ResponseStreamEvent[] | null> {
    const id = record.response.id;
    return record.events ?? this.read<ResponseStreamEvent[]>(tenant, id, `${id}.events.json`);
  }

  /** True when a record was deleted. */
  async delete(tenant: string, id: string): Promise<boolean> {
    if (!RESPONSE_ID.test(id)) return false;
    const existed = (await this.get(tenant, id)) !== null;
    await rm(join(this.dir(tenant), `${id}.json`), { force: true });
    await rm(join(this.dir(tenant), `${id}.events.json`), { force: true });
    return existed;
  }

  private dir(tenant: string): string {
    return join(this.tenancy.baseDataDir, 'responses', tenantDirName(tenant));
  }

  private async read<T>(tenant: string, id: string, file: string): Promise<T | null> {
    if (!RESPONSE_ID.test(id)) return null;
    return readJsonFile<T>(join(this.dir(tenant), file));
  }

  private write(tenant: string, file: string, value: unknown): Promise<void> {
    return writeJsonFile(join(this.dir(tenant), file), value);
  }
}
