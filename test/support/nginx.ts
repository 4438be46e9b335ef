import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './build';

export const NGINX = '/usr/sbin/nginx';

interface Ingress {
  metadata: { annotations: Record<string, string> };
}

/**
 * An nginx configuration with the routing of `docker/k8s/ingress.yaml` (what ingress-nginx makes of its
 * annotations), read from that file: a consistent hash of `upstream-hash-by` picks the replica, the body
 * size, timeouts and buffering of its annotations apply, and a replica that refuses connections is
 * skipped for the next (ingress-nginx's `proxy-next-upstream: error timeout`). Listens on 127.0.0.1 only.
 */
export function nginxConfigFromIngress(dir: string, listenPort: number, upstreamPorts: number[]): string {
  const ingress = parse(readFileSync(join(ROOT, 'docker/k8s/ingress.yaml'), 'utf8')) as Ingress;
  const a = ingress.metadata.annotations;
  const prefix = 'nginx.ingress.kubernetes.io/';
  const annotation = (name: string) => {
    const value = a[prefix + name];
    if (value === undefined) throw new Error(`ingress.yaml has no ${prefix}${name}`);
    return value;
  };
  const seconds = (name: string) => `${Number(annotation(name))}s`;
  return `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream codex_gateway {
    hash ${annotation('upstream-hash-by')} consistent;
${upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${listenPort};
    client_max_body_size ${annotation('proxy-body-size')};
    location / {
      proxy_pass http://codex_gateway;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_read_timeout ${seconds('proxy-read-timeout')};
      proxy_send_timeout ${seconds('proxy-send-timeout')};
      proxy_buffering ${annotation('proxy-buffering')};
      proxy_next_upstream ${annotation('proxy-next-upstream')};
    }
  }
}
`;
}

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

/** Starts nginx in the foreground with that configuration; resolves once it accepts connections. */
export async function startNginx(dir: string, listenPort: number, upstreamPorts: number[]): Promise<Nginx> {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfigFromIngress(dir, listenPort, upstreamPorts));
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${listenPort}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
      throw new Error(`nginx exited (${child.exitCode}): ${output}${log}`);
    }
    const up = await fetch(`${url}/health/live`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not accept connections in 10 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGQUIT');
      return exited;
    },
  };
}
