import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { replicasConfig } from '../apps/gateway/src/config/gateway.config';
import { ROOT } from './support/build';
import { makeDataDir } from './support/harness';

const run = promisify(execFile);
const K8S = join(ROOT, 'docker/k8s');
const FILES = readdirSync(K8S)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join(K8S, f));
const manifests = () =>
  FILES.flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJSON() as Record<string, any>));

/** kubernetes-models' schema validation of every document in `files` (a child: the package is ESM only). */
async function schemaErrors(files: string[]): Promise<Array<{ kind: string; name: string; errors: string[] }>> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'test/support/validate-k8s.mjs'), ...files], {
    cwd: ROOT,
  });
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { kind: string; name: string; errors: string[] });
}

/**
 * Fields the API does not know (a typo such as `hostUser` passes the schemas, and the API server drops or
 * refuses it): every document is type-checked as an object literal of its kind's kubernetes-models type,
 * where TypeScript refuses unknown properties. Returns tsc's complaints.
 */
async function unknownFields(docs: Array<Record<string, any>>): Promise<string> {
  const dir = makeDataDir('k8s-types');
  const lines = docs.map((doc, i) => {
    const group = String(doc.apiVersion).includes('/') ? doc.apiVersion : 'v1';
    return (
      `import type { I${doc.kind} as T${i} } from 'kubernetes-models/${group}/${doc.kind}';\n` +
      `export const m${i}: T${i} = ${JSON.stringify(doc)};\n`
    );
  });
  const file = join(dir, 'manifests.ts');
  writeFileSync(file, lines.join(''));
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const args = ['--noEmit', '--strict', '--module', 'esnext', '--moduleResolution', 'bundler', '--skipLibCheck', file];
  return run(process.execPath, [tsc, ...args], { cwd: ROOT }).then(
    () => '',
    (error: { stdout: string }) => error.stdout,
  );
}

describe('docker/k8s manifests', () => {
  it('every document is valid against the Kubernetes schemas (and a broken one is not)', async () => {
    const results = await schemaErrors(FILES);
    expect(results.map((r) => r.kind).sort()).toEqual([
      'Ingress',
      'PodDisruptionBudget',
      'Service',
      'Service',
      'StatefulSet',
    ]);
    for (const r of results) expect(r).toEqual({ ...r, errors: [] });

    const broken = manifests().find((d) => d.kind === 'StatefulSet')!;
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    const file = join(makeDataDir('k8s-broken'), 'statefulset.yaml');
    writeFileSync(file, JSON.stringify(broken));
    expect((await schemaErrors([file]))[0].errors.join()).toContain('containerPort must be integer');
  }, 60_000);

  it('every field is one the API knows (and a misspelt one is caught)', async () => {
    expect(await unknownFields(manifests())).toBe('');
    const typo = manifests().find((d) => d.kind === 'StatefulSet')!;
    typo.spec.template.spec.hostUser = false;
    expect(await unknownFields([typo])).toContain("'\"hostUser\"' does not exist in type 'IPodSpec'");
  }, 120_000);

  it('the replicas name each other as the gateway reads it: one peer per replica, through the headless Service', () => {
    const docs = manifests();
    const set = docs.find((d) => d.kind === 'StatefulSet')!;
    const pod = set.spec.template;
    const env: Record<string, string> = Object.fromEntries(
      pod.spec.containers[0].env
        .filter((e: { value?: string }) => e.value !== undefined) // not the Secret's and ConfigMap's
        .map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    const headless = docs.find((d) => d.kind === 'Service' && d.metadata.name === set.spec.serviceName)!;
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(pod.metadata.labels).toMatchObject(headless.spec.selector);
    const replicas = set.spec.replicas as number;
    expect(replicas).toBeGreaterThan(1);
    expect(String(env.CODEX_PEERS).split(',')).toEqual(
      Array.from(
        { length: replicas },
        (_, i) => `http://${set.metadata.name}-${i}.${set.spec.serviceName}:${env.PORT}`,
      ),
    );
    // What a pod makes of it: its ordinal from its hostname, the agent stream of each peer on CODEX_H2_PORT.
    const saved = { ...process.env };
    try {
      Object.assign(process.env, env, { HOSTNAME: `${set.metadata.name}-${replicas - 1}` });
      delete process.env.CODEX_REPLICA_INDEX;
      const config = replicasConfig();
      expect(config.index).toBe(replicas - 1);
      expect(config.h2Peers[0]).toBe(`http://${set.metadata.name}-0.${set.spec.serviceName}:${env.CODEX_H2_PORT}`);
    } finally {
      process.env = saved;
    }
    // Voluntary disruptions take one owner down at a time.
    const pdb = docs.find((d) => d.kind === 'PodDisruptionBudget')!;
    expect(pod.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBe(1);
  });
});
