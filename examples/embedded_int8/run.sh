#!/usr/bin/env bash
# Builds the int8 example (the MNIST MLP and CNN and MLPerf Tiny's DS-CNN, baked with
# `dtype = int8`) for a Cortex-M0 (thumbv6m-none-eabi, QEMU's microbit with the nRF51's RAM
# raised to 32 KB) and a Cortex-M4F (thumbv7em-none-eabihf, QEMU's mps2-an386), runs both
# under QEMU with `-icount shift=0` (one instruction per virtual nanosecond, read through
# SysTick), runs the same inputs through the host's int8 (the same int8 files), and fails
# unless every int8 output is equal on all three, and unless an inference writes every byte
# of each network's `SCRATCH_BYTES`. Then prints flash, static RAM, stack and instructions
# per inference for f32 and int8 side by side, and the DS-CNN and ResNet-8 beside CMSIS-NN's.
#
#   examples/embedded_int8/run.sh        (from anywhere; installs what it needs)
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TERM_COLOR=never

step() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

step "tools"
rustup target add thumbv6m-none-eabi thumbv7em-none-eabihf
if ! command -v qemu-system-arm >/dev/null; then
    as_root apt-get update
    as_root apt-get install -y qemu-system-arm
fi
qemu-system-arm --version | head -n 1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

step "host (x86-64: the MNIST int8 files loaded with nn::int8::Quantized::load, the DS-CNN baked; the seeded MobileNetV1 and autoencoder quantised into generated/)"
# The dev profile, as `cargo test` (run first in CI) builds the examples: nothing to build.
(cd ../.. && cargo run --quiet --example embedded_int8_host) >"$work/host.txt"
cat "$work/host.txt"
if [ ! -s "$work/host.txt" ]; then
    echo "FAIL: the host printed no predictions" >&2
    exit 1
fi

run() { # target, name, the models it runs (a regular expression), qemu arguments...
    local target=$1 name=$2 models=$3
    shift 3
    step "build for $target (release)"
    cargo build --release --target "$target"
    local elf="$target_dir/$target/release/nn-embedded-int8"
    step "QEMU: $name"
    local status=0
    timeout 300 qemu-system-arm "$@" -nographic -icount shift=0 \
        -semihosting-config enable=on,target=native -kernel "$elf" >"$work/$name.txt" 2>&1 || status=$?
    cat "$work/$name.txt"
    if [ "$status" -ne 0 ]; then
        echo "FAIL: QEMU exited with status $status (124: timed out)" >&2
        exit 1
    fi
    # The count checked on a loop of known length: within two ticks of SysTick.
    sed -n 's/^calibration: a loop of \([0-9]*\) instructions counted as \([0-9]*\) .* one tick is \([0-9]*\) instructions.*/\1 \2 \3/p' \
        "$work/$name.txt" | awk '{ d = $2 - $1; if (d < 0) d = -d; ok = d <= 2 * ($3 + 1) }
            END { if (!ok) { print "FAIL: the instruction count is off on the calibration loop"; exit 1 } }'
    grep -q '^kernel check: nn::int8::linear equals the reference loop' "$work/$name.txt" || {
        echo "FAIL: no kernel check on the $name" >&2
        exit 1
    }
    grep -E "^($models) [0-9]+: " "$work/$name.txt" >"$work/$name-int8.txt" || true
    grep -E "^($models) [0-9]+: " "$work/host.txt" >"$work/$name-host.txt" || true
    if ! diff "$work/$name-host.txt" "$work/$name-int8.txt" >"$work/diff.txt"; then
        cat "$work/diff.txt"
        echo "FAIL: the $name's int8 logits differ from the host's" >&2
        exit 1
    fi
    echo "agree: $(wc -l <"$work/$name-host.txt") int8 inferences on the $name equal the host's, logit for logit"
    # The activations' constant: an inference writes every byte of it, and no more fit.
    sed -n 's/^int8 \([a-z0-9_]*\) scratch: SCRATCH_BYTES \([0-9]*\), written by an inference \([0-9]*\);.*/\1 \2 \3/p' \
        "$work/$name.txt" | awk -v name="$name" -v models="$(echo "$models" | tr '|' '\n' | wc -l)" '{ n++; if ($2 != $3) { print "FAIL: " $1 " writes " $3 " bytes of its SCRATCH_BYTES " $2 " on the " name; bad = 1 } }
            END { if (n != models) { print "FAIL: " n " scratch lines for " models " models on the " name; bad = 1 } exit bad }'
    size -A "$elf" | awk -v name="$name" '
        $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 == ".bss" || $1 == ".uninit" { ram += $2 }
        END { printf "%s: program flash %d bytes (%.1f KiB), static RAM %d bytes\n", name, flash, flash / 1024, ram }' \
        >>"$work/sizes.txt"
}

start=$(date +%s.%N)
# MobileNetV1, ResNet-8 and the autoencoder on the Cortex-M4F only: their weights do not fit
# the Cortex-M0's 256 KB of flash beside the others (nor ResNet-8's activations its RAM).
run thumbv6m-none-eabi cortex-m0 'mlp|cnn|ds_cnn' -machine microbit -global nrf51-soc.sram-size=32768
run thumbv7em-none-eabihf cortex-m4f 'mlp|cnn|ds_cnn|mobilenet|resnet8|autoencoder' -machine mps2-an386
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "\nbuilds and runs: %.1f s\n", b - a }'

step "f32 and int8 side by side"
cat "$work/sizes.txt"
for name in cortex-m0 cortex-m4f; do
    echo "$name:"
    grep -E '^(int8|f32) (mlp|cnn|ds_cnn|mobilenet|resnet8|autoencoder)(:| layer| scratch)' "$work/$name.txt" | sed 's/^/  /'
done

step "the DS-CNN beside CMSIS-NN (Arm's int8 kernels, measured in the same QEMU with an instruction-counting plugin)"
# CMSIS-NN's figures: the whole network, and per multiply-add its 1x1 convolutions and 3x3
# depthwise ones (the depthwise on the Cortex-M0 was not measured).
for board in "cortex-m4f 7.69 2.09 7.8" "cortex-m0 28.99 7.57 -"; do
    set -- $board
    awk -v name="$1" -v total="$2" -v pointwise="$3" -v depthwise="$4" '
        /^int8 ds_cnn: .* instructions per inference/ {
            for (i = 1; i <= NF; i++) if ($i == "instructions" && $(i + 1) == "per") n = $(i - 1)
        }
        /^f32 ds_cnn: .* instructions per inference/ {
            for (i = 1; i <= NF; i++) if ($i == "instructions" && $(i + 1) == "per") f = $(i - 1)
        }
        /^int8 ds_cnn layer / {
            kind = $0; sub(/^[^(]*\(/, "", kind); sub(/\): .*/, "", kind); sub(/ \+ ReLU6?$/, "", kind)
            if (kind ~ /groups/) kind = "3x3 depthwise"; else if (kind ~ /^Conv2d<64, 64, 1>/) kind = "1x1 convolution"
            for (i = 1; i <= NF; i++) {
                if ($i == "instructions," || $i == "instructions") ins[kind] += $(i - 1)
                if ($i == "multiply-adds,") macs[kind] += $(i - 1)
            }
            if (!(kind in seen)) { seen[kind] = 1; order[++k] = kind }
        }
        END {
            printf "%s: int8 %.2f M instructions per inference, CMSIS-NN %s M", name, n / 1e6, total
            if (f) printf ", f32 %.2f M", f / 1e6
            printf "\n"
            for (j = 1; j <= k; j++) {
                kk = order[j]
                printf "  %-55s %9d instructions", kk, ins[kk]
                if (macs[kk]) printf ", %.2f per multiply-add", ins[kk] / macs[kk]
                if (kk == "1x1 convolution") printf " (CMSIS-NN %s)", pointwise
                if (kk == "3x3 depthwise" && depthwise != "-") printf " (CMSIS-NN %s)", depthwise
                printf "\n"
            }
        }' "$work/$1.txt"
done

step "ResNet-8 beside CMSIS-NN (29.86 M instructions on the Cortex-M4F, the same QEMU and plugin)"
awk '
    /^int8 resnet8: .* instructions per inference/ {
        for (i = 1; i <= NF; i++) if ($i == "instructions" && $(i + 1) == "per") n = $(i - 1)
    }
    /^int8 resnet8 layer / {
        kind = $0; sub(/^[^:]*: /, "", kind); sub(/\): .*/, "", kind); sub(/ \+ ReLU$/, "", kind)
        if (kind ~ /^Conv2d<3, /) kind = "first 3x3 convolution"
        else if (kind ~ /^Conv2d<.*, 3, /) kind = "3x3 convolution"
        else if (kind ~ /^Conv2d<.*, 1, /) kind = "1x1 stride-2 shortcut"
        for (i = 1; i <= NF; i++) {
            if ($i == "instructions," || $i == "instructions") ins[kind] += $(i - 1)
            if ($i == "multiply-adds,") macs[kind] += $(i - 1)
        }
        if (!(kind in seen)) { seen[kind] = 1; order[++k] = kind }
    }
    END {
        printf "cortex-m4f: int8 %.2f M instructions per inference, CMSIS-NN 29.86 M\n", n / 1e6
        for (j = 1; j <= k; j++) {
            kk = order[j]
            printf "  %-55s %9d instructions", kk, ins[kk]
            if (macs[kk]) printf ", %.2f per multiply-add", ins[kk] / macs[kk]
            printf "\n"
        }
    }' "$work/cortex-m4f.txt"
