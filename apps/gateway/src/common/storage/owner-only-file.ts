import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Temporary names: unique within this process by the counter, across processes sharing a folder by the prefix. */
const TEMPORARY_PREFIX = randomBytes(6).toString('hex');
let temporaries = 0;

/**
 * Writes JSON whole (a temporary file renamed into place), owner-only. The folder is created (owner-only)
 * only when the first attempt finds it missing, so a write to an existing folder costs no extra calls.
 */
export async function writeJsonFile(file: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value);
  const temporary = `${file}.${TEMPORARY_PREFIX}${(temporaries++).toString(36)}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(temporary, text, { mode: 0o600 });
  }
  try {
    await rename(temporary, file);
  } catch (error) {
    // The folder went away between the two calls: nothing of this write may stay behind.
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The parsed JSON of a file, or null when there is none. */
export async function readJsonFile<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
