#!/usr/bin/env bash
# Builds docker/Dockerfile with podman (no Docker engine needed) and smoke-tests the image:
#
#   docker/build-and-run.sh                  # build localhost/codex-gateway:smoke, then test it
#   docker/build-and-run.sh --no-build IMG   # test an image you already have
#
# The test runs the image with its ports bound to 127.0.0.1, waits for /health/ready, runs one Chat
# Completion and one HTTP/2 turn (whose command shows the uid and that the sandbox holds), checks that
# every process runs as uid 10001 and that the HEALTHCHECK passes, then stops the container during a
# streaming request with podman's default stop timeout: the stream must end cleanly and the exit code be 0.
# With two tenants it checks that one tenant's agent finds nothing of the other's (their namespaces hold
# in the container), and that without an unmasked /proc such a gateway refuses to start.
# It prints the image size, the build time and the time to ready, and a last line
# `RESULT {json}` for scripts. Exit 0 when every check held, 1 when one failed, 2 when a tool is missing.
#
# Needs podman with runc (crun refuses some hosts' hybrid cgroups), curl, and to build the base image when
# it is not there: debootstrap, npm and root. That base is a local stand-in for node:22-bookworm-slim
# (registries that serve images may be out of reach): Debian bookworm (minbase) from the apt mirror this
# machine uses, with Node 22 and npm 10 from the npm registry. Builds reach the registries through this
# machine's CA bundle, mounted for the RUN steps only (BUILD_CA_FILE, default the system bundle).
set -euo pipefail

cd "$(dirname "$0")/.."
IMAGE=localhost/codex-gateway:smoke
BUILD=1
if [[ "${1:-}" == "--no-build" ]]; then
  BUILD=0
  IMAGE=${2:?usage: docker/build-and-run.sh [--no-build IMAGE]}
fi
BASE=docker.io/library/node:22-bookworm-slim
NAME=codex-gateway-smoke-$$
RUNTIME=(--runtime runc)
# Raising these limits is not permitted in some sandboxes; podman's own defaults try to.
LIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
# Each tenant's codex gets a /proc of its own, which a container's masked /proc does not allow.
PROC=(--security-opt 'unmask=/proc/*')
WORK=$(mktemp -d)
FAILED=0

say() { printf '%s\n' "$*"; }
fail() {
  say "FAIL: $*"
  FAILED=1
}
need() {
  command -v "$1" >/dev/null 2>&1 || {
    say "build-and-run: '$1' is missing (Debian: apt-get install podman runc curl debootstrap)"
    exit 2
  }
}
cleanup() {
  podman rm -f "$NAME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

need podman
need runc
need curl

# ---- the base image stand-in ------------------------------------------------------------------
build_base() {
  need debootstrap
  need npm
  [[ $(id -u) == 0 ]] || { say "build-and-run: building $BASE needs root (debootstrap)"; exit 2; }
  local mirror
  mirror=$({
    grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{ print $2 }'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{ print $2 }'
  } | grep -v security | head -1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  say "building the base image $BASE: debootstrap bookworm from $mirror, Node 22 and npm 10 from the npm registry"
  debootstrap --variant=minbase bookworm "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 || {
    tail -20 "$WORK/debootstrap.log"
    exit 1
  }
  local pkg="node-linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')"
  npm install --prefix "$WORK/node" --no-save --no-audit --no-fund "$pkg@22" npm@10 >/dev/null
  install -m 0755 "$WORK/node/node_modules/$pkg/bin/node" "$WORK/rootfs/usr/local/bin/node"
  mkdir -p "$WORK/rootfs/usr/local/lib/node_modules"
  cp -a "$WORK/node/node_modules/npm" "$WORK/rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$WORK/rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$WORK/rootfs/usr/local/bin/npx"
  # As Debian's container images: apt keeps no package files or caches in layers.
  cat >"$WORK/rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
  rm -rf "$WORK/rootfs/var/lib/apt/lists/"* "$WORK/rootfs/var/cache/apt/"*.bin "$WORK/rootfs/var/cache/apt/archives/"*.deb
  tar -C "$WORK/rootfs" -c . | podman import --change 'CMD ["node"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --quiet - "$BASE" >/dev/null
}

BUILD_SECONDS=null
if [[ $BUILD == 1 ]]; then
  started=$(now)
  podman image exists "$BASE" || build_base
  ca=${BUILD_CA_FILE:-/etc/ssl/certs/ca-certificates.crt}
  mounts=()
  if [[ -f "$ca" ]]; then
    printf 'cafile=/run/build-ca.pem\n' >"$WORK/npmrc"
    mounts=(-v "$ca:/run/build-ca.pem:ro" -v "$WORK/npmrc:/root/.npmrc:ro")
  fi
  say "building $IMAGE from docker/Dockerfile"
  # --format docker keeps the HEALTHCHECK (the OCI format drops it).
  podman build --pull=never --format docker --network host "${RUNTIME[@]}" "${mounts[@]}" \
    -f docker/Dockerfile -t "$IMAGE" . >"$WORK/build.log" 2>&1 || {
    tail -30 "$WORK/build.log"
    exit 1
  }
  BUILD_SECONDS=$(since "$started")
fi
SIZE=$(podman image inspect "$IMAGE" --format '{{.Size}}')

# ---- run it -------------------------------------------------------------------------------------
started=$(now)
podman run -d --name "$NAME" "${RUNTIME[@]}" "${LIMITS[@]}" "${PROC[@]}" -p 127.0.0.1::8000 -p 127.0.0.1::8001 "$IMAGE" >/dev/null
HTTP=$(podman port "$NAME" 8000 | head -1)
H2=$(podman port "$NAME" 8001 | head -1)
READY_SECONDS=null
for _ in $(seq 1 600); do
  if curl -sf "http://$HTTP/health/ready" >/dev/null; then
    READY_SECONDS=$(since "$started")
    break
  fi
  sleep 0.1
done
if [[ $READY_SECONDS == null ]]; then
  fail "not ready within 60 s"
  podman logs "$NAME" 2>&1 | tail -20
  exit 1
fi
say "ready after ${READY_SECONDS} s on http://$HTTP (HTTP/2 agent stream on $H2)"
[[ $(curl -s "http://$HTTP/health/ready") == *'"isolation":{"mode":"namespace"'* ]] || fail "tenant isolation is not on in the container"

answer=$(curl -s "http://$HTTP/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"gpt-5-codex","messages":[{"role":"user","content":"[[reply: answered by the image]]"}]}')
[[ $answer == *'"content":"answered by the image"'* ]] || fail "Chat Completion: $answer"

# An HTTP/2 turn whose command prints its uid and tries to write outside the workspace.
frames=$(printf '%s\n' '{"type":"user_message","content":"[[shell: id -u; touch /app/escaped && echo escaped]]"}' |
  curl -s --http2-prior-knowledge -X POST -H 'content-type: application/x-ndjson' --data-binary @- "http://$H2/agent/stream")
[[ $frames == *'"type":"turn_completed"'*'"status":"completed"'* ]] || fail "HTTP/2 turn did not complete: ${frames:0:500}"
[[ $frames == *'10001'* ]] || fail "the agent's command did not run as uid 10001"
[[ $frames == *'Read-only file system'* && $frames != *'\nescaped'* ]] || fail "the read-only sandbox did not hold"

# The effective uid of every process, read from the container's own /proc (podman top's huser prints "?"
# when podman itself runs inside a container).
uids=$(podman exec "$NAME" sh -c 'cat /proc/[0-9]*/status 2>/dev/null' | awk '/^Uid:/ {print $3}' | sort -u | tr '\n' ' ' || true)
[[ $uids == '10001 ' ]] || fail "processes not all uid 10001: $uids"
[[ -n $(podman image inspect "$IMAGE" --format '{{.Config.Healthcheck}}') ]] || fail "the image has no HEALTHCHECK"
podman healthcheck run "$NAME" >/dev/null 2>&1 || fail "HEALTHCHECK failed"
codex=$( (podman top "$NAME" args || true) | grep -c 'codex app-server' || true)
[[ $codex -gt 0 ]] || fail "no codex process ran in the container"

# Stop with podman's default timeout (10 s) while a stream runs longer than that.
curl -sN "http://$HTTP/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"gpt-5-codex","stream":true,"messages":[{"role":"user","content":"[[slow: 1000]] a turn of 20 s"}]}' >"$WORK/stream" &
reader=$!
for _ in $(seq 1 100); do grep -q '"content"' "$WORK/stream" 2>/dev/null && break; sleep 0.1; done
stopped=$(now)
podman stop "$NAME" >/dev/null 2>&1
STOP_SECONDS=$(since "$stopped")
wait "$reader" || true
EXIT_CODE=$(podman inspect "$NAME" --format '{{.State.ExitCode}}')
[[ $EXIT_CODE == 0 ]] || fail "exit code $EXIT_CODE after podman stop"
tail -c 100 "$WORK/stream" | grep -q '^data: \[DONE\]$' || fail "the stream running at stop did not end with [DONE]: $(tail -c 300 "$WORK/stream")"
[[ $(podman inspect "$NAME" --format '{{.State.Status}}') == exited ]] || fail "the container is still running"
say "stopped in ${STOP_SECONDS} s with exit code $EXIT_CODE"

# ---- two tenants ----------------------------------------------------------------------------------
FAILED_BEFORE=$FAILED
podman rm -f "$NAME" >/dev/null 2>&1
TOKENS=alice:alice-token-0123456789,bob:bob-token-0123456789
podman run -d --name "$NAME" "${RUNTIME[@]}" "${LIMITS[@]}" "${PROC[@]}" -p 127.0.0.1::8000 \
  -e CODEX_GATEWAY_TOKENS=$TOKENS -e CODEX_SANDBOX=workspace-write "$IMAGE" >/dev/null
HTTP=$(podman port "$NAME" 8000 | head -1)
for _ in $(seq 1 600); do curl -sf "http://$HTTP/health/ready" >/dev/null && break; sleep 0.1; done
chat() { # tenant, prompt → the answer (asked from inside the container, where node is)
  podman exec -e T="$1" -e P="$2" "$NAME" node -e 'fetch("http://127.0.0.1:8000/v1/chat/completions", { method: "POST",
    headers: { authorization: `Bearer ${process.env.T}-token-0123456789`, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-5-codex", messages: [{ role: "user", content: process.env.P }] }) })
    .then((r) => r.json()).then((j) => process.stdout.write(j.choices ? j.choices[0].message.content : JSON.stringify(j)))'
}
chat bob '[[shell: echo BOB-SECRET-4242 > bob-note.txt && echo wrote]]' >/dev/null
chat bob 'remember BOB-SECRET-4242' >/dev/null
podman exec "$NAME" grep -q BOB-SECRET-4242 /data/workspace/bob/bob-note.txt || fail "bob's file was not written"
# What alice's agent runs; the words it looks for are assembled at run time, so its own command line has none.
probe='S=BOB-SEC; S="${S}RET"; B=b; B="${B}ob"; ls /data /data/users /data/workspace; cat /data/workspace/$B/$B-note.txt; grep -rao "$S-[0-9]*" /data; for p in /proc/[0-9]*; do tr "\0" " " < $p/cmdline; echo; done | grep -a "$S"; echo probe-done'
seen=$(chat alice "[[shell: $probe]]")
[[ $seen == *probe-done* ]] || fail "alice's probe did not run: ${seen:0:300}"
if [[ $seen == *BOB-SECRET-4242* ]] || grep -qx bob <<<"$seen"; then fail "alice's agent saw bob's data: ${seen:0:500}"; fi
[[ $FAILED == "$FAILED_BEFORE" ]] && say "two tenants: one's agent finds nothing of the other's"
podman stop "$NAME" >/dev/null 2>&1
# Without an unmasked /proc, tenants cannot be kept apart, and a gateway with several refuses to start.
refused=$(timeout 120 podman run --rm "${RUNTIME[@]}" "${LIMITS[@]}" -e CODEX_GATEWAY_TOKENS=$TOKENS "$IMAGE" 2>&1) && fail "a multi-tenant gateway started without isolation"
[[ $refused == *'Tenant isolation is not available'* ]] || fail "no clear refusal without isolation: ${refused:0:300}"

say "image $IMAGE: $((SIZE / 1000000)) MB; build ${BUILD_SECONDS} s; ready ${READY_SECONDS} s"
say "RESULT {\"image\":\"$IMAGE\",\"imageBytes\":$SIZE,\"buildSeconds\":$BUILD_SECONDS,\"readySeconds\":$READY_SECONDS,\"stopSeconds\":$STOP_SECONDS,\"exitCode\":$EXIT_CODE,\"ok\":$([[ $FAILED == 0 ]] && echo true || echo false)}"
exit $FAILED
