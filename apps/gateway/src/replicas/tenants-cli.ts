import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { codexConfig, replicaCount, replicaIndex, tenancyConfig } from '../config/gateway.config';
import { ConfigurationError, parseEnvironment } from '../config/environment';
import { ownerOf } from './ownership';
import { archivePath, type DataLayout, hasTenant, tenantDirectories, tenantsIn } from './tenant-data';

const USAGE = `Moves tenants' data between replicas after a replica count change (README: Replicas).
Run in a replica, or in a pod that mounts a replica's volume, with the gateway's configuration:
  list            the tenants whose data is here and whose owner is another replica (tenant, owner)
  send TENANT     a tar archive of the tenant's data here, on stdout
  receive TENANT  unpacks that archive from stdin (on the tenant's owner, before it has served the tenant)
  forget TENANT   removes the copy here (once the owner has received it)
Options: --replicas N  the replica count to move to (default: as many as CODEX_PEERS lists)
         --index I     this volume's replica ordinal (default: CODEX_REPLICA_INDEX, else the hostname's)`;

class UsageError extends Error {}

/** `--name value` options out of the arguments; the rest are the command and its tenant. */
function parseArgs(argv: string[]): { args: string[]; flags: Map<string, number> } {
  const args: string[] = [];
  const flags = new Map<string, number>();
  for (let i = 0; i < argv.length; i++) {
    const flag = /^--(replicas|index)$/.exec(argv[i])?.[1];
    if (!flag) {
      if (argv[i].startsWith('--')) throw new UsageError(`unknown option ${argv[i]}\n${USAGE}`);
      args.push(argv[i]);
      continue;
    }
    const value = Number(argv[++i]);
    if (!Number.isInteger(value) || value < (flag === 'replicas' ? 1 : 0)) {
      throw new UsageError(`--${flag} takes a whole number (${flag === 'replicas' ? '1 or more' : '0 or more'})`);
    }
    flags.set(flag, value);
  }
  return { args, flags };
}

async function main(argv: string[]): Promise<void> {
  const env = parseEnvironment(process.env);
  const { args, flags } = parseArgs(argv);
  const codex = codexConfig();
  const layout: DataLayout = {
    baseDataDir: tenancyConfig().baseDataDir,
    workspace: codex.workspace,
    tenantWorkspaces: codex.multiTenant,
  };
  const count = flags.get('replicas') ?? replicaCount(env);
  const here = flags.get('index') ?? (count < 2 && !flags.has('replicas') ? 0 : replicaIndex(env));
  const ownerOfTenant = (tenant: string) => (count < 2 ? 0 : ownerOf(tenant, count));
  const [command, tenant] = args;
  const needTenant = () => {
    if (!tenant) throw new UsageError(`${command} needs a tenant`);
    return tenant;
  };
  const notOwnedHere = (t: string) => {
    if (ownerOfTenant(t) === here) throw new UsageError(`${t} is owned by this replica (${here}): its data stays`);
  };
  switch (command) {
    case 'list':
      for (const found of tenantsIn(layout)) {
        if ('unnamed' in found) {
          process.stderr.write(`${found.unnamed}: its tenant is not recorded (it is, the next time it is served)\n`);
        } else if (ownerOfTenant(found.tenant) !== here) {
          process.stdout.write(`${found.tenant}\t${ownerOfTenant(found.tenant)}\n`);
        }
      }
      return;
    case 'send': {
      const t = needTenant();
      notOwnedHere(t);
      const dirs = tenantDirectories(layout, t).filter((d) => existsSync(d));
      if (dirs.length === 0) throw new UsageError(`no data of ${t} here`);
      return run(['-C', '/', '-cf', '-', ...dirs.map(archivePath)], ['ignore', 'inherit', 'inherit']);
    }
    case 'receive': {
      const t = needTenant();
      if (ownerOfTenant(t) !== here) {
        throw new UsageError(`${t} is owned by replica ${ownerOfTenant(t)} of ${count}, not this one (${here})`);
      }
      if (hasTenant(layout, t)) throw new UsageError(`this replica already has data of ${t}: nothing was changed`);
      return receive(layout, t);
    }
    case 'forget': {
      const t = needTenant();
      notOwnedHere(t);
      for (const dir of tenantDirectories(layout, t)) rmSync(dir, { recursive: true, force: true });
      return;
    }
    default:
      throw new UsageError(USAGE);
  }
}

/** Unpacks into a staging dir, checks the archive holds only the tenant's directories, then moves them in. */
async function receive(layout: DataLayout, tenant: string): Promise<void> {
  mkdirSync(layout.baseDataDir, { recursive: true });
  const staging = mkdtempSync(join(layout.baseDataDir, '.receiving-'));
  try {
    await run(['-C', staging, '--no-same-owner', '-xf', '-'], ['inherit', 'inherit', 'inherit']);
    const expected = tenantDirectories(layout, tenant).map(archivePath);
    const allowed = (path: string) =>
      expected.some((dir) => path === dir || path.startsWith(dir + sep) || dir.startsWith(path + sep));
    const unexpected = readdirSync(staging, { recursive: true })
      .map(String)
      .filter((path) => !allowed(path));
    if (unexpected.length > 0) {
      throw new UsageError(`the archive holds more than ${tenant}'s data (${unexpected.slice(0, 3).join(', ')})`);
    }
    for (const dir of tenantDirectories(layout, tenant)) {
      const staged = join(staging, archivePath(dir));
      if (!existsSync(staged)) continue;
      mkdirSync(dirname(dir), { recursive: true });
      try {
        renameSync(staged, dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
        cpSync(staged, dir, { recursive: true }); // the workspace on another file system
      }
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function run(args: string[], stdio: Array<'ignore' | 'inherit'>): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', args, { stdio: stdio as ['ignore', 'inherit', 'inherit'] });
    tar.once('error', reject);
    tar.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}`))));
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const known = error instanceof UsageError || error instanceof ConfigurationError;
  process.stderr.write(`${known ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(known ? 2 : 1);
});
