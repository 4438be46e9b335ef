/**
 * Compares the installed codex's app-server protocol (experimental part included) with the committed
 * snapshot and exits 1 when they differ, listing the definitions added, removed and changed:
 *
 *   npm run codex:drift               # check (CODEX_BINARY_PATH picks another binary)
 *   npm run codex:drift -- --update   # after reviewing the differences: take the installed schema as the snapshot
 *
 * Descriptions are ignored; `--update` still writes them, so the snapshot documents the protocol.
 */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { resolveCodexBinary } from '../libs/codex-transport/src/binary';
import {
  SNAPSHOT_PATH,
  describeDrift,
  diffProtocolSchemas,
  generateProtocolSchema,
  hasDrift,
  readSnapshot,
} from './codex-schema';

const update = process.argv.includes('--update');
const binary = resolveCodexBinary(process.env.CODEX_BINARY_PATH || null).path;
const installed = generateProtocolSchema(binary);
const drift = diffProtocolSchemas(readSnapshot(), installed);
process.stdout.write(`${describeDrift(drift)}\n`);
if (update) {
  writeFileSync(SNAPSHOT_PATH, `${JSON.stringify(installed, null, 1)}\n`);
  process.stdout.write(`wrote ${relative(process.cwd(), SNAPSHOT_PATH)} from ${installed['x-codex-version']}\n`);
} else if (hasDrift(drift) || drift.from !== drift.to) {
  process.stdout.write(
    'The installed codex differs from the snapshot: check what the gateway sends and relies on, then `npm run codex:drift -- --update`.\n',
  );
  process.exit(1);
}
