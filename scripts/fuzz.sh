#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo-fuzz) of the parsers that read outside input:
# `decode` (the capture decoder), `legacy` (the artifact's tables), `pathlen` (the path-length
# plugin's file) and `pmu_spec` (`run --pmu-events`). Each target runs for SECONDS (default 60) from its corpus in fuzz/corpus/<target> (seeded from real captures); new
# inputs go to a temporary directory, so the repository's corpus only changes by hand. A crash
# leaves its input under fuzz/artifacts/<target>/: turn it into a regression test.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode legacy pathlen pmu_spec)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
# cargo-fuzz passes unstable flags to rustc; the machines have the stable toolchain only, which
# accepts them with RUSTC_BOOTSTRAP. No sanitizer (-s none): the code under test has no unsafe.
export RUSTC_BOOTSTRAP=1
cd fuzz
for t in "${targets[@]}"; do
  new="$(mktemp -d)"
  echo "fuzz: $t for ${seconds} s"
  log="$new.log"
  status=0
  cargo fuzz run -s none "$t" "$new" "corpus/$t" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(Done|stat::number_of_executed_units|stat::new_units_added|SUMMARY)|panicked" "$log" || tail -20 "$log"
  rm -rf "$new" "$log"
  [ "$status" = 0 ] || { echo "fuzz: $t found a failure (input under fuzz/artifacts/$t)"; exit 1; }
done
