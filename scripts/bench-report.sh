#!/usr/bin/env bash
# Benchmark of `ivcbench report` on a full campaign of the artifact's tables (about 266 MB:
# 20 notif files x 4 tables x 20,000 rows, 8 transfer files x 2 blocks x 20,000 rows).
# Target on the project's 2-core machines: < 1 s wall and < 100 MB peak memory.
# Usage: scripts/bench-report.sh [DIR]   (DIR defaults to a fresh temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -q time >/dev/null || sudo apt-get install -y -q time >/dev/null; }
dir="${1:-$(mktemp -d)}"
cargo build --release --quiet -p ivcbench --example gen_legacy
cargo build --release --quiet -p ivcbench
[ -d "$dir/notif" ] || ./target/release/examples/gen_legacy "$dir"
du -sh "$dir/notif" "$dir/transfer"
# Statistics and tables: the part the artifact's scripts did besides drawing.
for formats in csv,json,md all; do
  args=(--out "$dir/report")
  [ "$formats" = all ] || args+=(--format "$formats")
  /usr/bin/time -f "report ($formats): %e s wall, %M KiB peak" ./target/release/ivcbench report "$dir" "${args[@]}" > /dev/null
done
