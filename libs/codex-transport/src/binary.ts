import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CodexErrorCode, CodexTransportError } from './errors/codex-transport.error';

export interface ResolvedBinary {
  /** The native codex executable. */
  path: string;
  /** Directories to put first on the child's PATH (codex ships `rg` beside itself). */
  extraPath: string[];
}

const PLATFORM_PACKAGES: Record<string, string> = {
  'linux-x64': '@openai/codex-linux-x64',
  'linux-arm64': '@openai/codex-linux-arm64',
  'darwin-x64': '@openai/codex-darwin-x64',
  'darwin-arm64': '@openai/codex-darwin-arm64',
  'win32-x64': '@openai/codex-win32-x64',
  'win32-arm64': '@openai/codex-win32-arm64',
};

function isExecutableFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Finds the native binary inside the installed `@openai/codex` platform package, or null. */
export function findPackagedBinary(searchFrom: string = __dirname): ResolvedBinary | null {
  const pkg = PLATFORM_PACKAGES[`${process.platform}-${process.arch}`];
  if (!pkg) return null;
  let packageDir: string;
  try {
    const wrapperDir = dirname(require.resolve('@openai/codex/package.json', { paths: [searchFrom] }));
    packageDir = dirname(require.resolve(`${pkg}/package.json`, { paths: [wrapperDir, searchFrom] }));
  } catch {
    return null;
  }
  const vendor = join(packageDir, 'vendor');
  if (!existsSync(vendor)) return null;
  const exe = process.platform === 'win32' ? 'codex.exe' : 'codex';
  for (const triple of readdirSync(vendor)) {
    const candidate = join(vendor, triple, 'bin', exe);
    if (isExecutableFile(candidate)) {
      const pathDir = join(vendor, triple, 'codex-path');
      return { path: candidate, extraPath: existsSync(pathDir) ? [pathDir] : [] };
    }
  }
  return null;
}

/**
 * The binary to run: `configuredPath` when given (it must exist), else the packaged native binary.
 * Throws BINARY_NOT_FOUND naming both places when neither exists.
 */
export function resolveCodexBinary(configuredPath?: string | null): ResolvedBinary {
  if (configuredPath) {
    if (isExecutableFile(configuredPath)) return { path: configuredPath, extraPath: [] };
    throw new CodexTransportError(
      CodexErrorCode.BINARY_NOT_FOUND,
      `codex binary not found at CODEX_BINARY_PATH=${configuredPath}; unset it to use the one installed with @openai/codex`,
    );
  }
  const packaged = findPackagedBinary();
  if (packaged) return packaged;
  throw new CodexTransportError(
    CodexErrorCode.BINARY_NOT_FOUND,
    `codex binary not found: CODEX_BINARY_PATH is not set and no native binary for ${process.platform}-${process.arch} ` +
      'is installed under node_modules/@openai/codex (run `npm ci`)',
  );
}
