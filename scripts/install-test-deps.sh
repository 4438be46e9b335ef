#!/usr/bin/env bash
# Installs the Debian packages the test suite runs besides Node (when a command is missing): curl, openssl,
# the CA bundle (ca-certificates), ps and pgrep (procps), runuser (util-linux), a python3 with `requests` (one test replays a Python
# client), nginx and bubblewrap (the replica test puts three replicas behind nginx, each with its own
# volume at one mount point through bwrap), and podman with runc, debootstrap and their networking for
# the container image test.
# `.ci/run` calls it before `npm ci && npm test`; the image test calls it when podman is missing. Needs
# root (or sudo) and apt; does nothing when everything is there.
set -euo pipefail

packages=()
want() { command -v "$1" >/dev/null 2>&1 || packages+=("$2"); }
want curl curl
want openssl openssl
want ps procps
want pgrep procps
want runuser util-linux
want bwrap bubblewrap
want podman podman
want runc runc
want debootstrap debootstrap
want iptables iptables
# nginx fronts three replicas in the replica test (it lives in /usr/sbin, outside a user's PATH).
[[ -x /usr/sbin/nginx ]] || packages+=(nginx-light)
# The system's CA bundle: the CA test checks that an SSL_CERT_FILE naming it does not reach codex.
[[ -f /etc/ssl/certs/ca-certificates.crt ]] || packages+=(ca-certificates)
# podman's network helpers live outside PATH.
[[ -x /usr/lib/podman/netavark ]] || packages+=(netavark)
[[ -x /usr/lib/podman/aardvark-dns ]] || packages+=(aardvark-dns)
if ! python3 -c 'import requests' 2>/dev/null && ! /usr/bin/python3 -c 'import requests' 2>/dev/null; then
  packages+=(python3-requests)
fi
[[ ${#packages[@]} -eq 0 ]] && exit 0

mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
sudo=()
[[ $(id -u) == 0 ]] || sudo=(sudo)
echo "installing: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
