/** codex's retry messages when the model provider cannot be reached at all (app-server and exec alike). */
export const PROVIDER_UNREACHABLE =
  /waiting for network|connection failed|error sending request|connection refused|dns error/i;

/** The failure message of a turn given up on after `ms` of such retries without progress. */
export function providerUnreachableMessage(ms: number, detail: string): string {
  return `the model provider could not be reached for ${Math.round(ms / 1000)} s (${detail})`;
}
