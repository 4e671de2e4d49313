#!/usr/bin/env bash
# Build and run the Dockerfile with buildah, on a machine without a Docker engine or access to
# Docker Hub (as the development machines are). Needs root and Debian's packages; ~3 minutes.
#
# The base image is a stand-in for node:22-bookworm-slim: Debian bookworm (debootstrap minbase)
# with this machine's node and npm in /usr/local and a `node` user (uid 1000). So this checks the
# Dockerfile's own steps, the image's config (USER, HEALTHCHECK, EXPOSE, STOPSIGNAL) and the running
# service, not the official base image or its Node version.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-/tmp/mmsim-buildah}
port=${PORT:-3941}
mkdir -p "$work"

command -v buildah >/dev/null && command -v debootstrap >/dev/null ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah debootstrap; }

if ! buildah images -q docker.io/library/node:22-bookworm-slim | grep -q .; then
  rootfs=$work/rootfs
  [ -x "$rootfs/bin/sh" ] || debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian
  mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules" "$rootfs/home/node"
  cp "$(command -v node)" "$rootfs/usr/local/bin/node"
  cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  grep -q '^node:' "$rootfs/etc/passwd" || {
    echo 'node:x:1000:1000::/home/node:/bin/sh' >>"$rootfs/etc/passwd"
    echo 'node:x:1000:' >>"$rootfs/etc/group"
  }
  chown 1000:1000 "$rootfs/home/node"
  c=$(buildah from scratch)
  buildah copy "$c" "$rootfs" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd node "$c"
  buildah commit -q "$c" docker.io/library/node:22-bookworm-slim
  buildah rm "$c" >/dev/null
fi

# npm ci inside the build needs this machine's CA bundle (bind-mounted, the Dockerfile unchanged).
printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nfund=false\naudit=false\n' >"$work/npmrc"
buildah bud --pull=never --isolation chroot --format docker \
  -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
  -v "$work/npmrc:/root/.npmrc:ro" -t localhost/mmsim:check .

buildah inspect --type image localhost/mmsim:check |
  node -e 'const c=JSON.parse(require("fs").readFileSync(0)).Docker.config; console.log(JSON.stringify({User:c.User,ExposedPorts:c.ExposedPorts,Healthcheck:c.Healthcheck.Test,StopSignal:c.StopSignal,Cmd:c.Cmd}))'

c=$(buildah from localhost/mmsim:check)
trap 'buildah rm "$c" >/dev/null 2>&1 || true' EXIT
buildah run --isolation chroot --network host -e PORT="$port" "$c" -- node dist/server.js >"$work/run.log" 2>&1 &
for _ in $(seq 50); do curl -sf "localhost:$port/healthz" >/dev/null && break; sleep 0.2; done
hc=$(buildah inspect --type image localhost/mmsim:check | node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(0)).Docker.config.Healthcheck.Test.slice(1)))')
mapfile -t hcargs < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$hc")
buildah run --isolation chroot --network host -e PORT="$port" "$c" -- "${hcargs[@]}" && echo "HEALTHCHECK: exit 0"
curl -sf -X POST "localhost:$port/v1/machines/default/tasks" -H 'content-type: application/json' -d '{}'
echo
pid=$(ss -ltnp | grep ":$port " | grep -o 'pid=[0-9]*' | cut -d= -f2)
echo "server uid: $(ps -o uid= -p "$pid")"
buildah run --isolation chroot "$c" -- sh -c 'ls node_modules | grep -E "^(tsx|vitest|typescript|supertest|autocannon)$" && exit 1 || echo "no dev dependencies"'
kill -TERM "$pid"
wait
tail -1 "$work/run.log"
echo "buildah-check: done"
