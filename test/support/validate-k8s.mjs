// Validates Kubernetes manifests against the API's schemas (kubernetes-models, which is ESM only, hence
// this script): prints one JSON line per document, {file, kind, name, errors}. Usage: node validate-k8s.mjs FILE...
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

for (const file of process.argv.slice(2)) {
  for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const manifest = document.toJSON();
    if (!manifest) continue;
    const { apiVersion = '', kind = '' } = manifest;
    const group = apiVersion.includes('/') ? apiVersion : `v1`;
    const line = { file, kind, name: manifest.metadata?.name ?? null, errors: [] };
    try {
      const models = await import(`kubernetes-models/${group}/${kind}`);
      new models[kind](manifest).validate();
    } catch (error) {
      line.errors.push(error.message);
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}
