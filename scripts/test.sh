#!/usr/bin/env bash
# The test command (README.md "Tests"): installs what is missing, then runs every test, the
# end-to-end runs on the QEMU testbed included, and the guests' lints.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Guest crates deny undocumented unsafe; clippy holds them to it.
# Every backend on every platform: the board variants differ in UART, GIC and address map.
(cd guests && for backend in baremetal xen bao jailhouse sel4; do for platform in qemu-virt zcu104 zcu102; do
  cargo clippy --release --quiet --no-default-features --features "$backend,$platform" -- -D warnings
done; done)
cargo clippy --workspace --all-targets --quiet -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"
# The parsers of outside input under the fuzzer, a minute each (no crash allowed).
bash scripts/fuzz.sh 60
# fuzz/ is its own workspace with its own lock: a dependency added to the host crates must be
# added there too (run `cargo metadata --format-version 1 >/dev/null` in fuzz/ and commit it).
git diff --quiet -- fuzz/Cargo.lock 2>/dev/null || echo "test.sh: warning: fuzz/Cargo.lock changed while fuzzing: commit the updated lock"
# One closing line over every test binary (cargo's own last line is that of its doc-tests).
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
