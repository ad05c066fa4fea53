#!/usr/bin/env bash
# The main job (README.md "Demo"): installs what is missing, then runs the demo on the QEMU testbed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --release --quiet -p ivcbench -- demo "$@"
