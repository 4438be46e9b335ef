import type { ChildProcess } from 'node:child_process';

/**
 * Sends `signal` to the process group `child` leads (spawned detached), its leader gone or not: false once
 * no process of the group is left (or on Windows, which has no process groups).
 */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (process.platform === 'win32' || child.pid === undefined) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is empty
  }
}
