#!/usr/bin/env bash
# Benchmark of `ivcbench report` on a full campaign of the artifact's tables (about 275 MB:
# 20 notif files x 4 tables x 20,000 rows, 8 transfer files x 2 blocks x 20,000 rows).
# Target on the project's 2-core machines: < 1 s wall and < 100 MB peak memory (maximum RSS).
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
# Statistics and tables (what the artifact's scripts did besides drawing), then everything.
for formats in csv,json,md all; do
  args=(--out "$dir/report")
  [ "$formats" = all ] || args+=(--format "$formats")
  log="$(mktemp)"
  /usr/bin/time -v ./target/release/ivcbench report "$dir" "${args[@]}" >/dev/null 2>"$log" || { cat "$log"; exit 1; }
  # -v prints the wall time as [h:]m:ss.cc; in seconds for the comparison.
  wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$log" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
  rss_kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
  rm -f "$log"
  verdict=$(awk -v w="$wall" -v m="$rss_kib" 'BEGIN { print (w < 1 && m * 1024 < 100e6) ? "ok" : "OVER TARGET" }')
  [ "$verdict" = ok ] || fail=1
  printf 'report (%s): %.2f s wall, %.1f MB peak (target < 1 s, < 100 MB): %s\n' "$formats" "$wall" "$(awk -v m="$rss_kib" 'BEGIN { print m * 1024 / 1e6 }')" "$verdict"
done
exit "$fail"
