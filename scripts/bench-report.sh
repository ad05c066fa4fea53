#!/usr/bin/env bash
# Benchmark of `ivcbench report` on a full campaign of the artifact's tables (275 MB = 262 MiB:
# 20 notif files x 4 tables x 20,000 rows, 8 transfer files x 2 blocks x 20,000 rows).
# Target on the project's 2-core machines: <= 0.34 s wall (median of 3; 100x a pandas + seaborn
# pipeline doing the same statistics and figures, 33.9 s) and < 100 MB peak memory (maximum RSS).
# Wall time depends on what else runs: the load average is printed with the figures.
# Usage: scripts/bench-report.sh [DIR]   (DIR defaults to a fresh temporary directory, removed after;
# a given DIR is kept, and the tables are only written if DIR/notif is missing)
set -euo pipefail
cd "$(dirname "$0")/.."

# GNU time for the peak memory (bash's `time` keyword has no RSS).
if [ ! -x /usr/bin/time ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q >/dev/null
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null
fi

if [ $# -ge 1 ]; then
  dir="$1"
else
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
fi
cargo build --release --quiet -p ivcbench --bin ivcbench --example gen_legacy --example parse_legacy
[ -d "$dir/notif" ] || ./target/release/examples/gen_legacy "$dir"

# The parsers alone (files already in memory, 2 threads): the share of the budget that is ours.
./target/release/examples/parse_legacy "$dir"

fail=0
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
# Statistics and tables (what the artifact's scripts did besides drawing), then everything.
for formats in csv,json,md all; do
  args=(--out "$dir/report")
  [ "$formats" = all ] || args+=(--format "$formats")
  walls=()
  rss_kib=0
  for _ in 1 2 3; do
    log="$(mktemp)"
    /usr/bin/time -v ./target/release/ivcbench report "$dir" "${args[@]}" >/dev/null 2>"$log" || { cat "$log"; exit 1; }
    # -v prints the wall time as [h:]m:ss.cc; in seconds for the comparison.
    walls+=("$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$log" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
    [ "$rss" -gt "$rss_kib" ] && rss_kib=$rss
    rm -f "$log"
  done
  wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 2p)
  verdict=$(awk -v w="$wall" -v m="$rss_kib" 'BEGIN { print (w <= 0.34 && m * 1024 < 100e6) ? "ok" : "OVER TARGET" }')
  [ "$verdict" = ok ] || fail=1
  printf 'report (%s): %.2f s wall (median of %s), %.1f MB peak (target <= 0.34 s, < 100 MB): %s\n' "$formats" "$wall" "${walls[*]}" "$(awk -v m="$rss_kib" 'BEGIN { print m * 1024 / 1e6 }')" "$verdict"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$fail"
