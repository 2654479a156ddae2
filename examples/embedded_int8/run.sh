#!/usr/bin/env bash
# Builds the int8 example for a Cortex-M0 (thumbv6m-none-eabi, QEMU's microbit with the
# nRF51's RAM raised to 32 KB) and a Cortex-M4F (thumbv7em-none-eabihf, QEMU's mps2-an386),
# runs both under QEMU with `-icount shift=0` (one instruction per virtual nanosecond, read
# through SysTick), runs the same digits through the host's int8 (`nn::int8::Quantized` on
# the same int8 files), and fails unless every int8 logit is equal on all three. Then prints
# flash, static RAM, stack and instructions per inference for f32 and int8 side by side.
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

step "host (x86-64, the int8 files loaded with nn::int8::Quantized::load)"
(cd ../.. && cargo run --quiet --release --example embedded_int8_host) >"$work/host.txt"
cat "$work/host.txt"
if [ ! -s "$work/host.txt" ]; then
    echo "FAIL: the host printed no predictions" >&2
    exit 1
fi

run() { # target, name, qemu arguments...
    local target=$1 name=$2
    shift 2
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
    grep -E '^(mlp|cnn) [0-9]+: ' "$work/$name.txt" >"$work/$name-int8.txt" || true
    if ! diff "$work/host.txt" "$work/$name-int8.txt" >"$work/diff.txt"; then
        cat "$work/diff.txt"
        echo "FAIL: the $name's int8 logits differ from the host's" >&2
        exit 1
    fi
    echo "agree: $(wc -l <"$work/host.txt") int8 inferences on the $name equal the host's, logit for logit"
    size -A "$elf" | awk -v name="$name" '
        $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 == ".bss" || $1 == ".uninit" { ram += $2 }
        END { printf "%s: program flash %d bytes (%.1f KiB), static RAM %d bytes\n", name, flash, flash / 1024, ram }' \
        >>"$work/sizes.txt"
}

start=$(date +%s.%N)
run thumbv6m-none-eabi cortex-m0 -machine microbit -global nrf51-soc.sram-size=32768
run thumbv7em-none-eabihf cortex-m4f -machine mps2-an386
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "\nbuilds and runs: %.1f s\n", b - a }'

step "f32 and int8 side by side"
cat "$work/sizes.txt"
for name in cortex-m0 cortex-m4f; do
    echo "$name:"
    grep -E '^(int8|f32) (mlp|cnn)(:| layer)' "$work/$name.txt" | sed 's/^/  /'
done
