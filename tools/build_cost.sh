#!/usr/bin/env bash
# Build cost: a clean release build of the workspace, then the incremental release
# rebuild of the mnist example after an edit to it. Uses its own target folder so that
# the clean build is really clean, and puts the example back as it was afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(mktemp -d)
backup=$(mktemp)
cp examples/mnist.rs "$backup"
trap 'cp "$backup" examples/mnist.rs; rm -rf "$target" "$backup"' EXIT
export CARGO_TARGET_DIR=$target
cargo fetch -q
seconds() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
clean=$(seconds cargo build --release --workspace --all-targets)
cargo build --release --example mnist -q
echo "// edited $(date +%s%N)" >> examples/mnist.rs
incremental=$(seconds cargo build --release --example mnist)
echo "clean release build of the workspace (all targets): $clean s"
echo "incremental release rebuild of examples/mnist.rs after an edit: $incremental s"
