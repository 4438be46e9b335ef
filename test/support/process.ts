import type { ChildProcess } from 'node:child_process';

export interface ListeningGateway {
  url: string;
  /** Everything the process printed so far. */
  output(): string;
  /** The gateway's own node pid, from its log prefix (the child may be npm or runuser). */
  nodePid(): number;
}

/** Resolves once a started gateway logs its listening address; rejects if it exits first. */
export function whenListening(child: ChildProcess, label: string): Promise<ListeningGateway> {
  let text = '';
  const gateway = (url: string): ListeningGateway => ({
    url,
    output: () => text,
    nodePid: () => Number(/"pid":(\d+)/.exec(text)?.[1]),
  });
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (m) resolve(gateway(m[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${label} exited early (${code}):\n${text}`)));
  });
}
