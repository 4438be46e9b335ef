import type { OfflineProvider, RecordedRequest } from '@app/offline-provider';

type Item = Record<string, unknown>;

/** The input items of a model request codex made. */
export const inputOf = (request: RecordedRequest): Item[] => (request.body.input as Item[] | undefined) ?? [];

/** The codex turn a model request belongs to (codex names it in its `x-codex-turn-metadata` header). */
export function turnOf(request: RecordedRequest): string {
  const metadata = request.headers['x-codex-turn-metadata'];
  return (JSON.parse(String(metadata)) as { turn_id: string }).turn_id;
}

/** The model requests whose input mentions `marker` (a text unique to one test). */
export function requestsWith(provider: OfflineProvider, marker: string): RecordedRequest[] {
  return provider.requests.filter((r) => JSON.stringify(r.body.input ?? []).includes(marker));
}

/** The model request that carried the client's result for `callId` back to the model. */
export function requestWithOutput(provider: OfflineProvider, callId: string): RecordedRequest | undefined {
  return provider.requests.find((r) =>
    inputOf(r).some((item) => item.type === 'function_call_output' && item.call_id === callId),
  );
}

/** The names of the tools a model request offered. */
export const toolNames = (request: RecordedRequest): string[] =>
  ((request.body.tools as Item[] | undefined) ?? []).map((t) => String(t.name));
