/**
 * A terminal client for the HTTP/2 agent stream:
 *
 *   npm run agent-client -- [--approval-policy suggest] <sessionId> "<prompt>"
 *
 * Sends the prompt as a `user_message` of that session, prints the agent's text as it streams and every
 * other frame as a line of JSON, asks on the terminal whether to allow each command the agent wants to
 * run, and ends when the turn does. Environment: AGENT_STREAM_URL (default http://127.0.0.1:8001; https://
 * for TLS, with AGENT_STREAM_CA naming the CA certificate file), CODEX_GATEWAY_TOKEN (sent as a bearer token).
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { createInterface } from 'node:readline';
import { NDJSON, type ServerFrame } from '../apps/gateway/src/agent-stream/agent-frames';
import { encodeFrame, FrameDecoder } from '../apps/gateway/src/agent-stream/frame-codec';

function usage(): never {
  process.stderr.write('usage: npm run agent-client -- [--approval-policy <policy>] <sessionId> "<prompt>"\n');
  process.exit(2);
}

const args = process.argv.slice(2);
let approvalPolicy: string | undefined;
if (args[0] === '--approval-policy') {
  approvalPolicy = args[1];
  args.splice(0, 2);
}
const [sessionId, prompt] = args;
if (!sessionId || !prompt) usage();

const url = process.env.AGENT_STREAM_URL ?? 'http://127.0.0.1:8001';
const ca = process.env.AGENT_STREAM_CA ? readFileSync(process.env.AGENT_STREAM_CA) : undefined;
const token = process.env.CODEX_GATEWAY_TOKEN;

const session = connect(url, ca ? { ca } : {});
session.on('error', (error: Error) => {
  process.stderr.write(`connection failed: ${error.message}\n`);
  process.exit(1);
});
const stream = session.request({
  ':method': 'POST',
  ':path': '/agent/stream',
  'content-type': NDJSON,
  ...(token ? { authorization: `Bearer ${token}` } : {}),
});
stream.on('error', (error: Error) => {
  process.stderr.write(`stream failed: ${error.message}\n`);
  process.exit(1);
});
const terminal = createInterface({ input: process.stdin, output: process.stdout, terminal: false });
const answers: string[] = [];
const waiting: Array<(line: string) => void> = [];
terminal.on('line', (line) => {
  const next = waiting.shift();
  if (next) next(line);
  else answers.push(line);
});
const ask = (question: string) =>
  new Promise<string>((resolve) => {
    process.stdout.write(question);
    const ready = answers.shift();
    if (ready !== undefined) resolve(ready);
    else waiting.push(resolve);
  });

const send = (frame: object) => stream.write(encodeFrame(NDJSON, frame));
let exitCode = 0;
let inText = false;

stream.on('response', (headers) => {
  const status = Number(headers[':status']);
  if (status !== 200) {
    let body = '';
    stream.on('data', (c: Buffer) => (body += c.toString('utf8')));
    stream.on('end', () => {
      process.stderr.write(`the gateway answered ${status}: ${body}\n`);
      process.exit(1);
    });
  }
});

const decoder = new FrameDecoder(NDJSON);
stream.on('data', (chunk: Buffer) => {
  for (const decoded of decoder.push(chunk)) {
    if (decoded.ok) void show(decoded.value as ServerFrame);
  }
});

async function show(frame: ServerFrame): Promise<void> {
  if (
    frame.type === 'item' &&
    frame.phase === 'delta' &&
    frame.responseItem.type === 'delta' &&
    frame.responseItem.kind === 'text'
  ) {
    process.stdout.write(frame.responseItem.delta);
    inText = true;
    return;
  }
  if (inText) {
    process.stdout.write('\n');
    inText = false;
  }
  process.stdout.write(`${JSON.stringify(frame)}\n`);
  if (frame.type === 'command_prompt') {
    const answer = await ask(`Allow \`${frame.commandLine}\` in ${frame.cwd ?? '?'}? [y/N] `);
    send({
      type: 'approve',
      sessionId: frame.sessionId,
      commandId: frame.commandId,
      decision: /^y(es)?$/i.test(answer.trim()) ? 'allow' : 'deny',
    });
  }
  if (frame.type === 'turn_completed') {
    if (frame.status !== 'completed') exitCode = 1;
    stream.end();
  }
  if (frame.type === 'error' && !frame.sessionId) exitCode = 1;
}

stream.on('close', () => {
  terminal.close();
  session.close();
  process.exitCode = exitCode;
});

send({
  type: 'user_message',
  sessionId,
  content: prompt,
  ...(approvalPolicy ? { configOverrides: { approvalPolicy } } : {}),
});
