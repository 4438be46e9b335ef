import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonFile, writeJsonFile } from './owner-only-file';

describe('owner-only JSON files', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'owner-only-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates missing folders owner-only and writes the file owner-only, with no temporary file left', async () => {
    const file = join(root, 'a', 'b', 'record.json');
    await writeJsonFile(file, { n: 1 });
    expect(await readJsonFile(file)).toEqual({ n: 1 });
    expect(statSync(join(root, 'a')).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, 'a', 'b')).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(root, 'a', 'b'))).toEqual(['record.json']);
  });

  it('replaces a file whole and recreates a folder removed after an earlier write', async () => {
    const file = join(root, 'tenant', 'record.json');
    await writeJsonFile(file, { n: 1 });
    await writeJsonFile(file, { n: 2, more: 'x'.repeat(1000) });
    expect(await readJsonFile(file)).toEqual({ n: 2, more: 'x'.repeat(1000) });
    rmSync(join(root, 'tenant'), { recursive: true });
    await writeJsonFile(file, { n: 3 });
    expect(await readJsonFile(file)).toEqual({ n: 3 });
    expect(readdirSync(join(root, 'tenant'))).toEqual(['record.json']);
  });

  it('reads a missing file as null and reports other failures', async () => {
    expect(await readJsonFile(join(root, 'none.json'))).toBeNull();
    await expect(readJsonFile(root)).rejects.toMatchObject({ code: 'EISDIR' });
    await writeJsonFile(join(root, 'x.json'), 1);
    // A path through a file is not a missing folder: no folder is made, the error is the caller's.
    await expect(writeJsonFile(join(root, 'x.json', 'y.json'), 1)).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});
