#!/usr/bin/env bash
# A real LAVA farm on this machine, loopback only, driven by ivcbench (docs/lava.md, "A farm on
# one machine"): Debian 12's lava-server (PostgreSQL as its package sets it up) served by
# gunicorn, its scheduler, and a lava-worker with one `qemu` device; the cells' images served by a
# loopback HTTP server. Then:
#   ivcbench lava --matrix --experiment notif --platform qemu-virt   (baremetal: notif, notif+interf)
#   ivcbench lava --experiment transfer ...                          (its image is not served: must fail)
#   ivcbench lava submit, ivcbench lava collect, ivcbench status
# and checks that the two notif cells came back as captures with their LAVA job, device and
# provenance in <capture>.meta.json, and that the transfer cell is a per-cell error, left missing.
# Prints how long installing, starting and running took. Everything it starts, it stops.
# Not in CI: installing and starting a server costs minutes (docs/lava.md gives the figures).
# Run as root on Debian 12: bash scripts/lava-server-test.sh [work dir]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=${1:-$(mktemp -d /tmp/ivcbench-lava.XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
PORT=${IVCBENCH_LAVA_PORT:-18080}
FILES_PORT=${IVCBENCH_LAVA_FILES_PORT:-18081}
URL="http://127.0.0.1:$PORT"
WORKER=ivcbench-worker
DEVICE=ivcbench-qemu01
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
log() { echo "lava-server-test: $*"; }

if [ "$(id -u)" != 0 ]; then echo "lava-server-test: run as root (it installs packages and starts services)" >&2; exit 1; fi

pids=()
started_pg=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$started_pg" ]; then pg_ctlcluster $started_pg stop || true; fi
}
trap cleanup EXIT

# 1. Install (PostgreSQL must be up while lava-server's package creates its database).
t=$(now)
apt_install() { env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "$@"; }
command -v pg_lsclusters >/dev/null || apt_install postgresql
cluster=$(pg_lsclusters -h | awk 'NR == 1 { print $1, $2 }')
if [ -z "$cluster" ]; then echo "lava-server-test: no PostgreSQL cluster (pg_lsclusters)" >&2; exit 1; fi
if ! pg_lsclusters -h | awk 'NR == 1 { exit $4 == "online" ? 0 : 1 }'; then
  pg_ctlcluster $cluster start
  started_pg=$cluster
fi
dpkg -s lava-server >/dev/null 2>&1 || apt_install lava-server
command -v lava-run >/dev/null || apt_install lava-dispatcher qemu-system-x86/bookworm-backports
log "installed in $(took "$t") (lava-server $(dpkg-query -W -f '${Version}' lava-server), lava-dispatcher $(dpkg-query -W -f '${Version}' lava-dispatcher))"

# 2. Start the server, the scheduler and the worker, all on 127.0.0.1.
t=$(now)
gunicorn3 lava_server.wsgi --bind "127.0.0.1:$PORT" --workers 2 -u lavaserver -g lavaserver \
  --log-file "$WORK/gunicorn.log" --timeout 60 &
pids+=($!)
lava-server manage lava-scheduler --level INFO --log-file "$WORK/scheduler.log" &
pids+=($!)
m() { lava-server manage "$@"; }
m users details ivcbench >/dev/null 2>&1 || m users add --superuser --staff --passwd "$(head -c 12 /dev/urandom | base64)" ivcbench
TOKEN=$(m tokens add --user ivcbench --description "ivcbench lava-server-test" | tail -1 | tr -d '[:space:]')
m workers details "$WORKER" >/dev/null 2>&1 || m workers add "$WORKER" >/dev/null
WORKER_TOKEN=$(m workers details "$WORKER" | awk -F': ' '/^token/ { print $2 }' | tr -d '[:space:]')
m device-types details qemu >/dev/null 2>&1 || m device-types add qemu
# The device dictionary of a local qemu device: the device type's template, nothing else (the
# job's context sets the machine).
echo "{% extends 'qemu.jinja2' %}" > "/etc/lava-server/dispatcher-config/devices/$DEVICE.jinja2"
m devices details "$DEVICE" >/dev/null 2>&1 || m devices add --device-type qemu --worker "$WORKER" "$DEVICE"
m devices update --health GOOD "$DEVICE"
for _ in $(seq 120); do curl -sf "$URL/api/v0.2/system/version/" >/dev/null && break; sleep 0.5; done
lava-worker --name "$WORKER" --url "$URL/" --token "$WORKER_TOKEN" --worker-dir "$WORK/worker" \
  --log-file "$WORK/worker.log" --level INFO &
pids+=($!)
for _ in $(seq 120); do
  curl -sf -H "Authorization: Token $TOKEN" "$URL/api/v0.2/workers/$WORKER/" | grep -q '"state":"Online"' && break
  sleep 0.5
done
curl -sf -H "Authorization: Token $TOKEN" "$URL/api/v0.2/workers/$WORKER/" | grep -q '"state":"Online"' \
  || { echo "lava-server-test: the worker never came online (see $WORK/worker.log)" >&2; exit 1; }
log "server, scheduler and worker up in $(took "$t") ($URL, device $DEVICE)"

# 3. The cells' images, served over loopback HTTP as a lab serves its files.
t=$(now)
cargo build --release -q -p ivcbench
IVC="$ROOT/target/release/ivcbench"
for cell in notif notif+interf; do
  "$IVC" config --hypervisor baremetal --platform qemu-virt --experiment "$cell" --out "$WORK/files/baremetal/$cell" --force >/dev/null
done
log "ivcbench and the images built in $(took "$t")"
t=$(now)
(cd "$WORK/files" && exec /usr/bin/python3 -m http.server --bind 127.0.0.1 "$FILES_PORT") >"$WORK/http.log" 2>&1 &
pids+=($!)
IMAGE="http://127.0.0.1:$FILES_PORT/{hypervisor}/{experiment}/images/baremetal.bin"
"$IVC" lava --matrix --experiment notif --platform qemu-virt --hypervisor baremetal --kernel-url "$IMAGE" --out "$WORK/jobs"
# Nothing is served for transfer: its job fails at the download.
"$IVC" lava --experiment transfer --platform qemu-virt --hypervisor baremetal --kernel-url "$IMAGE" --out "$WORK/jobs"

# 4. Submit and collect through LAVA's REST API, as a farm user would.
export LAVA_URL="$URL" LAVA_TOKEN="$TOKEN"
"$IVC" lava submit --jobs "$WORK/jobs"
set +e
"$IVC" lava collect --jobs "$WORK/jobs" --out "$WORK/comm" --poll 2s --timeout 20min | tee "$WORK/collect.txt"
rc=${PIPESTATUS[0]}
set -e
log "submitted and collected in $(took "$t")"
"$IVC" status "$WORK/comm" | tee "$WORK/status.txt"

# 5. What must hold.
fail() { echo "lava-server-test: FAILED: $*" >&2; exit 1; }
[ "$rc" != 0 ] || fail "collect succeeded although the transfer job cannot"
for cell in baremetal baremetal+interf; do
  meta="$WORK/comm/notif/$cell.meta.json"
  [ -f "$WORK/comm/notif/$cell" ] || fail "no capture notif/$cell"
  grep -q '"device": "'"$DEVICE"'"' "$meta" || fail "$meta names no device"
  grep -q '"emulated": true' "$meta" || fail "$meta: a qemu device is emulated"
  grep -q '"job_id": [0-9]' "$meta" || fail "$meta has no LAVA job id"
done
[ ! -e "$WORK/comm/transfer/baremetal" ] || fail "the failed transfer job wrote a capture"
grep -E '^baremetal/transfer .*FAILED: LAVA job [0-9]+ ended Incomplete' "$WORK/collect.txt" >/dev/null || fail "no per-cell error for transfer"
log "PASS: 2 cells collected with their provenance, the failed job reported for its cell (work dir $WORK)"
