#!/usr/bin/env bash
# Builds the embedded example (an MLP, a CNN, a network whose forward is code, the DS-CNN and a
# causal convolution stack streamed one sample at a time) for a
# Cortex-M4F, runs it under QEMU's mps2-an386 board, runs the same digits through the host
# build (`nn::io::load` instead of baked weights), and fails unless both print the same
# predictions for every model. Then reports flash, RAM and stack.
# MLPerf Tiny's ResNet-8, MobileNetV1 and autoencoder run with weights that build.rs draws
# from seeds (examples/mlperf/seeded.rs); the host draws the same ones.
#
#   examples/embedded/run.sh        (from anywhere; installs what it needs)
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TERM_COLOR=never

step() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

step "tools"
rustup target add thumbv7em-none-eabihf
if ! command -v qemu-system-arm >/dev/null; then
    as_root apt-get update
    as_root apt-get install -y qemu-system-arm
fi
qemu-system-arm --version | head -n 1

step "build for thumbv7em-none-eabihf (release)"
start=$(date +%s.%N)
cargo build --release
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "build: %.1f s\n", b - a }'
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
elf="$target_dir/thumbv7em-none-eabihf/release/nn-embedded"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "QEMU mps2-an386 (Cortex-M4F)"
status=0
qemu_start=$(date +%s.%N)
timeout 120 qemu-system-arm -machine mps2-an386 -nographic \
    -semihosting-config enable=on,target=native -kernel "$elf" >"$work/qemu.txt" 2>&1 || status=$?
cat "$work/qemu.txt"
awk -v a="$qemu_start" -v b="$(date +%s.%N)" 'BEGIN { printf "QEMU: %.1f s\n", b - a }'
if [ "$status" -ne 0 ]; then
    echo "FAIL: QEMU exited with status $status (124: timed out)" >&2
    exit 1
fi

step "host (x86-64, weights loaded with nn::io::load)"
# The dev profile: `cargo test` builds the examples so, and CI runs it first, so this builds
# nothing there (a release build of the workspace would be the slowest step of the run).
(cd ../.. && cargo run --quiet --example embedded_host) >"$work/host.txt"
cat "$work/host.txt"

step "compare"
# Every model's lines, the CNN's as `cnn-digit` and the two-branch network's as
# `two-branch-digit`, so that every line has the same fields before its logits (10, or the
# DS-CNN's 12; the seeded models' 10 and 2, and the autoencoder's anomaly score with its
# first 16 outputs).
digits() { grep -E '^(((cnn|two-branch) )?digit |kws |resnet8 |mobilenet |anomaly )' "$1" | sed -E 's/^(cnn|two-branch) digit/\1-digit/' || true; }
digits "$work/qemu.txt" >"$work/qemu-digits.txt"
digits "$work/host.txt" >"$work/host-digits.txt"
if [ ! -s "$work/host-digits.txt" ]; then
    echo "FAIL: the host printed no predictions" >&2
    exit 1
fi
# The Cortex-M4F computes every product and sum as written; the host's one-sample kernel
# fuses each multiply-add (FMA) where the CPU has it, which rounds once instead of twice.
# So classes must match exactly and logits to within 1e-5 (a few units in the last place of
# values up to about 20); lines that match bit for bit are counted.
awk -v tol=1e-5 '
    function abs(v) { return v < 0 ? -v : v }
    NR == FNR { host[FNR] = $0; next }
    {
        n++
        nh = split(host[FNR], h, " ")
        if (nh != NF) { printf "FAIL: line %d: host \"%s\", QEMU \"%s\"\n", FNR, host[FNR], $0; bad = 1; next }
        for (k = 1; k <= 7; k++) if (h[k] != $k) { printf "FAIL: line %d: host \"%s\", QEMU \"%s\"\n", FNR, host[FNR], $0; bad = 1; next }
        for (k = 8; k <= nh; k++) {
            logits++
            if (h[k] == $k) same++
            d = abs(h[k] - $k)
            if (d > worst) worst = d
            if (d > tol || $k == "") { printf "FAIL: line %d, logit %d: host %s, QEMU %s\n", FNR, k - 8, h[k], $k; bad = 1 }
        }
    }
    END {
        if (n != length(host) || n == 0) { printf "FAIL: host printed %d lines, QEMU %d\n", length(host), n; exit 1 }
        if (bad) exit 1
        printf "agree: %d of %d predicted classes the same; logits within %g (largest difference %.2g), %d of %d bit for bit\n", n, n, tol, worst, same, logits
    }' "$work/host-digits.txt" "$work/qemu-digits.txt" || {
    echo "FAIL: the Cortex-M4F and the host disagree" >&2
    exit 1
}

# The convolution stack streamed one sample at a time: every printed step, to the same
# tolerance, and on the device the stream must equal the whole-signal pass bit for bit.
grep -E '^stream [0-9]+: ' "$work/qemu.txt" >"$work/qemu-stream.txt" || true
grep -E '^stream [0-9]+: ' "$work/host.txt" >"$work/host-stream.txt" || true
awk -v tol=1e-5 '
    function abs(v) { return v < 0 ? -v : v }
    NR == FNR { host[$2] = $3; n++; next }
    {
        m++
        if (!($2 in host) || abs(host[$2] - $3) > tol) { printf "FAIL: %s host %s, QEMU %s\n", $2, host[$2], $3; bad = 1 }
        d = abs(host[$2] - $3); if (d > worst) worst = d
    }
    END {
        if (n == 0 || m != n) { printf "FAIL: host printed %d steps, QEMU %d\n", n, m; exit 1 }
        if (bad) exit 1
        printf "stream: %d steps agree within %g (largest difference %.2g)\n", n, tol, worst
    }' "$work/host-stream.txt" "$work/qemu-stream.txt" || exit 1
grep -q '^streamed one sample at a time: 256 of 256 outputs' "$work/qemu.txt" || {
    echo "FAIL: on the device, the stream and the whole-signal pass differ" >&2
    exit 1
}

# The tiny nested network: one output, to the same tolerance.
q=$(sed -n 's/^nested: //p' "$work/qemu.txt")
h=$(sed -n 's/^nested: //p' "$work/host.txt")
awk -v q="$q" -v h="$h" 'BEGIN {
    d = q - h; if (d < 0) d = -d
    if (q == "" || h == "" || d > 1e-5) { printf "FAIL: nested network: host %s, QEMU %s\n", h, q; exit 1 }
    printf "nested network: host %s, QEMU %s\n", h, q
}' || exit 1

step "sizes"
size -A "$elf" | awk '
    $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
    $1 == ".data" { flash += $2; ram += $2 }
    $1 == ".bss" || $1 == ".uninit" { ram += $2 }
    $1 ~ /^\.(vector_table|text|rodata|data|bss|uninit)$/ { printf "  %-14s %9d bytes\n", $1, $2 }
    END {
        printf "flash: %d bytes (%.1f KiB)\n", flash, flash / 1024
        printf "static RAM: %d bytes (.data + .bss + .uninit; the stack comes on top)\n", ram
    }'
for weights in ../../data/weights/{mnist,cnn,two_branch,ds_cnn,conv_stack}.safetensors; do
    header=$(od -An -tu8 -N8 "$weights" | tr -d ' ')
    bytes=$(stat -c %s "$weights")
    echo "weights: $((bytes - 8 - header)) bytes of tensor data in $(basename "$weights") ($bytes bytes with its header)"
done
for weights in generated/{resnet8,mobilenet_v1,autoencoder}.safetensors; do
    header=$(od -An -tu8 -N8 "$weights" | tr -d ' ')
    bytes=$(stat -c %s "$weights")
    echo "weights: $((bytes - 8 - header)) bytes of tensor data in $(basename "$weights") (drawn from a seed by build.rs)"
done
grep -E '^(nn on|stack used)' "$work/qemu.txt"
