/** The response header that says how a request carrying tool results was served. */
export const TOOL_RESULTS_HEADER = 'X-Codex-Tool-Results';

/**
 * `resumed`: the codex turn that made the calls was waiting for them and went on (the same turn);
 * `replayed`: no turn waited (a restart, another replica, a timed-out call, a client replaying a whole
 * conversation), so the conversation was put into a new thread as items and a new turn went on from it.
 */
export type ToolResultsPath = 'resumed' | 'replayed';
