#!/usr/bin/env bash
# Benchmark of the static partitioning Xen on the QEMU testbed: xen/notif and xen/notif+interf,
# 1000 notifications each, in icount mode (instruction-paced virtual time: emulated figures, never
# hardware latencies). Target: notif+interf's round-trip p99 within 2x of notif's (the interferer
# must not reach tx and rx through the scheduler or the console; docs/testbed-xen.md).
# Usage: scripts/bench-xen.sh [--xen PATH] [DIR]   (DIR defaults to a fresh temporary directory,
# removed after; --xen PATH runs another Xen, e.g. Debian's .cache/xen/boot/xen-4.17-arm64)
set -euo pipefail
cd "$(dirname "$0")/.."

xen=()
if [ "${1:-}" = "--xen" ]; then xen=(--xen "$2"); shift 2; fi
if [ $# -ge 1 ]; then
  dir="$1"
  mkdir -p "$dir"
else
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
fi
cargo build --release --quiet -p ivcbench --bin ivcbench

p99() {
  ./target/release/ivcbench run --hypervisor xen --experiment "$1" --samples 1000 --out "$dir" --force "${xen[@]}" \
    | tee "$dir/$1.summary" >&2
  awk '$1 == "rtt" { for (i = 1; i < NF; i++) if ($i == "p99") print $(i + 1) }' "$dir/$1.summary"
}
base=$(p99 notif)
interf=$(p99 notif+interf)
[ -n "$base" ] && [ -n "$interf" ] || { echo "bench-xen: no round-trip p99 in the summaries" >&2; exit 1; }
echo "bench-xen (emulated: QEMU virt, icount shift=4): round-trip p99 notif ${base} ns, notif+interf ${interf} ns, ratio $(awk -v a="$interf" -v b="$base" 'BEGIN { printf "%.2f", a / b }') (target <= 2.00)"
if [ "$interf" -gt $((2 * base)) ]; then
  echo "bench-xen: FAIL: notif+interf's p99 is more than twice notif's" >&2
  exit 1
fi
echo "bench-xen: ok"
