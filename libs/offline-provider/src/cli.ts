import { OfflineProvider } from './offline-provider.server';

/** `npm run offline-provider -- [--port N] [--host H]`: runs the provider until interrupted. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const provider = new OfflineProvider({
    host: flag('--host') ?? '127.0.0.1',
    port: Number(flag('--port') ?? 8090),
  });
  const url = await provider.start();
  process.stdout.write(`offline provider listening: ${url} (set CODEX_API_BASE_URL to this URL)\n`);
  const stop = () => void provider.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
