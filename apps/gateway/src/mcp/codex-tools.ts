import { Injectable } from '@nestjs/common';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  type CallToolResult,
  ElicitResultSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { Subscription } from 'rxjs';
import { z } from 'zod';
import { AppServerTransport, type ApprovalRequest, type CodexEvent } from '@app/codex-transport';
import { describeFailure } from '../common/errors/failure';
import { invalidRequest } from '../common/errors/gateway-error';
import { foldTurn } from '../common/turn/turn-events.mapper';
import { WorkspacePolicy } from '../common/workspace/workspace-policy';
import { MetricsService } from '../metrics/metrics.service';
import { TurnProgress } from './turn-progress';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const APPROVAL_POLICIES = ['untrusted', 'on-request', 'never'] as const;
const SANDBOXES = ['read-only', 'workspace-write', 'danger-full-access'] as const;

/** What a tool call's turn reports, besides the final message. */
const turnReport = {
  threadId: z.string().describe('The codex thread: pass it to codex-reply to continue the conversation.'),
  content: z.string().describe("Codex's final answer (also the text content)."),
  turnId: z.string(),
  status: z.enum(['completed', 'interrupted', 'failed']),
  usage: z
    .object({
      inputTokens: z.number(),
      cachedInputTokens: z.number(),
      outputTokens: z.number(),
      reasoningOutputTokens: z.number(),
      totalTokens: z.number(),
    })
    .nullable(),
};

/**
 * The tools of the removed `codex mcp-server`, with its parameter names, on the tenant's warm codex:
 * `codex` starts a thread and runs a turn, `codex-reply` runs the next turn of a thread, `codex-interrupt`
 * stops a running one. A call reports progress and codex's activity while its turn runs, asks the client
 * to decide approvals (when it can be asked), and ends with the final agent message.
 */
@Injectable()
export class CodexTools {
  /** The running turn of each thread started or continued through MCP (`tenant\0threadId` → turn id). */
  private readonly running = new Map<string, string>();

  constructor(
    private readonly appServer: AppServerTransport,
    private readonly workspace: WorkspacePolicy,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Registers the tools on a session's server; every call runs as `tenant`. Their arguments are strict: one
   * a tool does not define (a typo, or a parameter of codex's own MCP server such as `profile`) is refused.
   */
  register(server: McpServer, tenant: string, disconnected: (requestId: string | number) => AbortSignal): void {
    server.registerTool(
      'codex',
      {
        title: 'Run a Codex session',
        description:
          'Starts a new Codex conversation: the Codex coding agent works on the prompt in its workspace (reading files, ' +
          'running commands in its sandbox) and answers. Returns the final answer and the threadId to continue with codex-reply.',
        inputSchema: z.strictObject({
          prompt: z.string().min(1).describe('What Codex should do: the first user message of the conversation.'),
          cwd: z
            .string()
            .optional()
            .describe('Working directory, inside the workspace roots (relative: to the workspace).'),
          model: z.string().optional().describe("Model for this conversation (default: the gateway's)."),
          'approval-policy': z
            .enum(APPROVAL_POLICIES)
            .optional()
            .describe(
              'When Codex asks before running a command (asked as an elicitation when the client supports it).',
            ),
          sandbox: z.enum(SANDBOXES).optional().describe('Sandbox of the commands Codex runs (default read-only).'),
          'base-instructions': z.string().optional().describe("Replaces Codex's own base instructions."),
          'developer-instructions': z
            .string()
            .optional()
            .describe('Developer instructions for the whole conversation.'),
          config: z
            .record(z.string(), z.unknown())
            .optional()
            .describe(
              'codex config overrides: not accepted by this gateway (they could change its sandbox or provider).',
            ),
        }),
        outputSchema: turnReport,
        annotations: { title: 'Codex', openWorldHint: true },
      },
      (args, extra) =>
        this.safely(async () => {
          if (args.config && Object.keys(args.config).length > 0) {
            throw invalidRequest('config overrides are not accepted by this gateway; use the named parameters');
          }
          this.workspace.checkSandbox(args.sandbox);
          const started = await this.appServer.startThread(tenant, {
            cwd: this.workspace.resolveCwd(tenant, args.cwd),
            model: args.model,
            approvalPolicy: args['approval-policy'],
            sandbox: args.sandbox,
            baseInstructions: args['base-instructions'],
            developerInstructions: args['developer-instructions'],
          });
          return this.runTurn(server, tenant, started.thread.id, args.prompt, extra, disconnected(extra.requestId));
        }),
    );

    server.registerTool(
      'codex-reply',
      {
        title: 'Continue a Codex session',
        description:
          'Sends the next message of a Codex conversation started with the codex tool; Codex remembers the earlier turns.',
        inputSchema: z.strictObject({
          threadId: z.string().optional().describe('The threadId a codex call returned.'),
          conversationId: z.string().optional().describe('The same as threadId (the name older clients use).'),
          prompt: z.string().min(1).describe('The next user message.'),
        }),
        outputSchema: turnReport,
      },
      (args, extra) =>
        this.safely(() => {
          const threadId = args.threadId ?? args.conversationId;
          if (!threadId) throw invalidRequest('threadId is required');
          return this.runTurn(server, tenant, threadId, args.prompt, extra, disconnected(extra.requestId));
        }),
    );

    server.registerTool(
      'codex-interrupt',
      {
        title: 'Interrupt a Codex session',
        description:
          'Stops the turn Codex is running on a thread; the codex or codex-reply call waiting on it ends as interrupted.',
        inputSchema: z.strictObject({ threadId: z.string().describe('The threadId of the running conversation.') }),
      },
      (args) =>
        this.safely(async () => {
          const turnId = this.running.get(key(tenant, args.threadId));
          if (!turnId) throw invalidRequest(`no turn is running on thread ${args.threadId}`);
          await this.appServer.interruptTurn(tenant, args.threadId, turnId);
          return { content: [{ type: 'text', text: `interrupted turn ${turnId}` }] };
        }),
    );
  }

  /**
   * Runs one turn for a tool call and answers with its final message. The call's cancellation
   * (`notifications/cancelled`) or its client going away interrupts the turn.
   */
  private runTurn(
    server: McpServer,
    tenant: string,
    threadId: string,
    prompt: string,
    extra: Extra,
    disconnected: AbortSignal,
  ): Promise<CallToolResult> {
    const requestId = `mcp-${String(extra.requestId)}`;
    const turn$ = this.appServer
      .runTurn(tenant, { threadId, input: [{ type: 'text', text: prompt }] })
      .pipe(this.metrics.observeTurn({ protocol: 'mcp', tenant, requestId }));
    const progress = new TurnProgress(extra);
    const canElicit = server.server.getClientCapabilities()?.elicitation !== undefined;
    const events: CodexEvent[] = [];
    return new Promise<CallToolResult>((resolve, reject) => {
      let subscription: Subscription | null = null;
      let ended = false;
      const end = (): boolean => {
        if (ended) return false;
        ended = true;
        progress.close();
        this.running.delete(key(tenant, threadId));
        extra.signal.removeEventListener('abort', stop);
        disconnected.removeEventListener('abort', stop);
        return true;
      };
      // Leaving the turn's stream interrupts it in codex (the transport's rule for a client gone).
      function stop(): void {
        if (!end()) return;
        subscription?.unsubscribe();
        resolve({ content: [{ type: 'text', text: 'cancelled' }], isError: true });
      }
      extra.signal.addEventListener('abort', stop, { once: true });
      disconnected.addEventListener('abort', stop, { once: true });
      if (extra.signal.aborted || disconnected.aborted) return stop();
      // A turn that cannot start errors inside subscribe(): the listeners above are already in place.
      subscription = turn$.subscribe({
        next: (event) => {
          events.push(event);
          if (event.type === 'turn.started') this.running.set(key(tenant, threadId), event.turnId);
          if (event.type === 'turn.started') progress.started(threadId, event.turnId);
          if (event.type === 'approval.requested' && canElicit) void this.elicit(tenant, event.approval, extra);
          progress.push(event);
        },
        error: (error: unknown) => {
          if (end()) reject(error instanceof Error ? error : new Error(String(error)));
        },
        complete: () => {
          if (end()) resolve(toolResult(threadId, events));
        },
      });
      if (ended) subscription.unsubscribe();
    });
  }

  /** Asks the client to decide an approval codex waits on; without an answer the approval's own timeout decides. */
  private async elicit(tenant: string, approval: ApprovalRequest, extra: Extra): Promise<void> {
    const what = approval.command ? `run \`${approval.command}\`` : `apply a file change`;
    try {
      const answer = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: {
            message: `Codex asks to ${what}${approval.cwd ? ` in ${approval.cwd}` : ''}${approval.reason ? `: ${approval.reason}` : ''}. Allow it?`,
            requestedSchema: { type: 'object', properties: {} },
          },
        },
        ElicitResultSchema,
      );
      this.appServer.respondToApproval(tenant, approval.id, answer.action === 'accept' ? 'accept' : 'decline');
    } catch {
      // The client could not answer (gone, refused the request): the approval waits for /api/approvals or its timeout.
    }
  }

  /** A failure before or around a turn is a tool error result with its reason, as MCP clients expect. */
  private async safely(work: () => Promise<CallToolResult>): Promise<CallToolResult> {
    try {
      return await work();
    } catch (error) {
      return { content: [{ type: 'text', text: describeFailure(error).message }], isError: true };
    }
  }
}

/** The turn's final agent message and its report; a failed turn is an error result with its reason. */
function toolResult(threadId: string, events: CodexEvent[]): CallToolResult {
  const turn = foldTurn(threadId, events);
  const messages = turn.items.filter((item) => item.type === 'agentMessage');
  const last = messages.at(-1)?.text;
  const answer = typeof last === 'string' ? last : '';
  const status = turn.status === 'inProgress' ? 'failed' : turn.status;
  // The answer is in the structured content too: clients that prefer it (codex itself does) give it to their model.
  const report = { threadId, turnId: turn.id, status, usage: turn.usage, content: answer };
  if (status === 'failed') {
    return {
      content: [{ type: 'text', text: turn.error?.message ?? 'the turn failed' }],
      structuredContent: report,
      isError: true,
    };
  }
  return { content: [{ type: 'text', text: answer }], structuredContent: report };
}

const key = (tenant: string, threadId: string) => `${tenant}\u0000${threadId}`;
