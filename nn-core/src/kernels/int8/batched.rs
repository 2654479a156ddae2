//! Fully connected on a batch: several samples per load of the weights.
//!
//! The weights are packed once ([`PackedLinear`]) in blocks of 16 output channels, four
//! inputs at a time: block `j`, group `g` holds `w[16 j + o, 4 g + k]` at byte `64 g + 4 o + k`
//! of the block (zero past the layer's edges), one 512-bit vector. On x86-64 two kernels read
//! that layout: AVX-512 VNNI (`vpdpbusd`: sixteen outputs per vector, each sample's four
//! inputs broadcast, two blocks × eight samples per pass) and AVX2 (`vpmovsxbw` then
//! `vpmaddwd`: four outputs per vector, one block × two samples per pass). Elsewhere, and
//! where [`crate::gemm::kernel`] is `matrixmultiply`, each sample runs through the one-sample
//! path of [`super::linear`].
//!
//! The sums are exact integers (wrapping `i32`, as the one-sample path's) and the
//! requantisation is [`super::linear`]'s, so every kernel gives its bits.

// Where there is no batched kernel (anything but x86-64 with `std`), every batch takes the
// one-sample product (`Isa::Portable`): the packed path is built but never taken.
#![cfg_attr(
    not(all(feature = "std", target_arch = "x86_64")),
    allow(dead_code, unreachable_code, unused_variables)
)]

use alloc::vec::Vec;

use super::linear::linear_with_sums;
use crate::int8::{Output, Requant, Weights};

/// Output channels per block of the packed layout.
const NR: usize = 16;
/// Inputs per group of the packed layout.
const KG: usize = 4;

/// The instruction set int8 products run on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Isa {
    /// AVX-512F, BW and VNNI (`vpdpbusd`).
    Vnni,
    /// AVX2 (`vpmaddwd`).
    Avx2,
    /// Portable loops.
    Portable,
}

/// The instruction set int8 products run on: the widest the CPU has (found once), kept to
/// the products' choice ([`crate::gemm::kernel`], `NN_KERNEL`): `avx2` keeps to AVX2,
/// `matrixmultiply` to the portable loops.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
pub(crate) fn isa() -> Isa {
    use crate::gemm::Kernel;
    static CPU: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    let cpu = *CPU.get_or_init(|| {
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vnni")
        {
            Isa::Vnni
        } else if std::is_x86_feature_detected!("avx2") {
            Isa::Avx2
        } else {
            Isa::Portable
        }
    });
    match crate::gemm::kernel() {
        Kernel::Avx512 => cpu,
        Kernel::Avx2 if cpu != Isa::Portable => Isa::Avx2,
        _ => Isa::Portable,
    }
}

/// The instruction set int8 products run on: portable loops.
#[cfg(not(all(feature = "std", target_arch = "x86_64")))]
pub(crate) fn isa() -> Isa {
    Isa::Portable
}

/// A `Linear` weight `[outputs, inputs]` packed for [`linear_batch`], with each row's sum.
/// Holds no data where no batched kernel runs (off x86-64 or without `std`).
#[derive(Clone, Debug, Default)]
pub(crate) struct PackedLinear {
    inputs: usize,
    outputs: usize,
    data: Vec<i8>,
    /// `Σ_i w[o, i]`, for `o` below the blocks' padded count (0 past the outputs).
    sums: Vec<i32>,
}

impl PackedLinear {
    /// Packs `weight`, `[outputs, inputs]` row-major.
    pub(crate) fn new(weight: &[i8], inputs: usize, outputs: usize) -> PackedLinear {
        assert_eq!(
            weight.len(),
            inputs * outputs,
            "a weight of {inputs} × {outputs}"
        );
        if !cfg!(all(feature = "std", target_arch = "x86_64")) || inputs == 0 {
            return PackedLinear {
                inputs,
                outputs,
                ..PackedLinear::default()
            };
        }
        let (groups, blocks) = (inputs.div_ceil(KG), outputs.div_ceil(NR));
        let mut data = alloc::vec![0i8; blocks * groups * KG * NR];
        let mut sums = alloc::vec![0i32; blocks * NR];
        for (o, row) in weight.chunks_exact(inputs).enumerate() {
            let (j, r) = (o / NR, o % NR);
            for (i, &w) in row.iter().enumerate() {
                data[(j * groups + i / KG) * KG * NR + r * KG + i % KG] = w;
            }
            sums[o] = row.iter().map(|&w| w as i32).sum();
        }
        PackedLinear {
            inputs,
            outputs,
            data,
            sums,
        }
    }

    fn groups(&self) -> usize {
        self.inputs.div_ceil(KG)
    }

    fn padded_outputs(&self) -> usize {
        self.outputs.div_ceil(NR) * NR
    }
}

/// Buffers [`linear_batch`] reuses: the batch's inputs in the kernel's form and its sums.
#[derive(Clone, Debug, Default)]
pub(crate) struct BatchScratch {
    bytes: Vec<u8>,
    words: Vec<i16>,
    acc: Vec<i32>,
    channels: Vec<i32>,
}

/// Each of `n` channels' requantisation, prepared once a call as six arrays of `n` for vector
/// code: what is added to its sums (the bias less `offset · sums[c]`), its multiplier,
/// `2^left`, the right shift, its mask `2^right − 1` and half that mask (the steps of
/// [`super::multiply_by_quantized_multiplier`]). `None` for a multiplier of `i32::MIN`, which
/// [`Requant`] never makes and whose doubled product would saturate.
fn prepare(
    arrays: &mut Vec<i32>,
    weights: &Weights,
    n: usize,
    offset: i32,
    sums: &[i32],
) -> Option<()> {
    arrays.clear();
    arrays.resize(6 * n, 0);
    for c in 0..n {
        let (bias, r): (i32, Requant) = weights.channel(c);
        if r.multiplier == i32::MIN {
            return None;
        }
        let correction = sums.get(c).map_or(0, |&s| offset.wrapping_mul(s));
        let (left, right) = (r.shift.max(0), (-r.shift).max(0));
        let mask = ((1u32 << right) as i32).wrapping_sub(1);
        let values = [
            bias.wrapping_sub(correction),
            r.multiplier,
            1 << left,
            right,
            mask,
            mask >> 1,
        ];
        for (k, v) in values.into_iter().enumerate() {
            arrays[k * n + c] = v;
        }
    }
    Some(())
}

/// `output[s, c] = write(requant[c](acc[s, c] + add[c]))` for rows of `n` outputs (`acc`'s
/// rows `stride` apart), `arrays` from [`prepare`]: TFLite's `MultiplyByQuantizedMultiplier`
/// without branches, so that it vectorises.
#[inline(always)]
fn requantise_body(acc: &[i32], stride: usize, arrays: &[i32], out: Output, output: &mut [i8]) {
    let n = arrays.len() / 6;
    let a = |k: usize| &arrays[k * n..][..n];
    let (add, mult, left, right, mask, half) = (a(0), a(1), a(2), a(3), a(4), a(5));
    for (ys, acc) in output.chunks_exact_mut(n).zip(acc.chunks(stride)) {
        let acc = &acc[..n];
        for o in 0..n {
            let x = acc[o].wrapping_add(add[o]).wrapping_mul(left[o]);
            let high = ((x as i64 * mult[o] as i64 + (1 << 30)) >> 31) as i32;
            let threshold = half[o] + i32::from(high < 0);
            let r = (high >> right[o]) + i32::from(high & mask[o] > threshold);
            ys[o] = r.wrapping_add(out.zero_point).clamp(out.min, out.max) as i8;
        }
    }
}

/// [`requantise_body`] on `n = output.len() / rows` channels, in AVX2 where the CPU has it;
/// for a multiplier [`prepare`] refuses, [`Requant::apply`] one value at a time.
#[allow(clippy::too_many_arguments)]
fn requantise(
    acc: &[i32],
    stride: usize,
    weights: &Weights,
    offset: i32,
    sums: &[i32],
    out: Output,
    output: &mut [i8],
    arrays: &mut Vec<i32>,
) {
    let rows = acc.len() / stride;
    let n = output.len() / rows.max(1);
    if prepare(arrays, weights, n, offset, sums).is_none() {
        for (ys, acc) in output.chunks_exact_mut(n).zip(acc.chunks(stride)) {
            for (c, (y, &a)) in ys.iter_mut().zip(acc).enumerate() {
                let (bias, r) = weights.channel(c);
                let correction = sums.get(c).map_or(0, |&s| offset.wrapping_mul(s));
                *y = out.write(r.apply(bias.wrapping_sub(correction).wrapping_add(a)));
            }
        }
        return;
    }
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if isa() != Isa::Portable {
        // SAFETY: the CPU has AVX2 (`isa()` found at least AVX2).
        return unsafe { x86::requantise_avx2(acc, stride, arrays, out, output) };
    }
    requantise_body(acc, stride, arrays, out, output);
}

/// A per-channel scale (a folded batch norm: a 1 × 1 depthwise convolution of a 1 × 1 image)
/// on a batch `[batch, channels]`: `output[s, c] = write(requant[c](bias[c] + w[c] · (x[s, c]
/// − zp)))`, [`super::depthwise_conv2d`]'s bits.
pub(crate) fn scale_channels_batch(
    x: &[i8],
    zp: i32,
    weights: Weights,
    out: Output,
    output: &mut [i8],
    scratch: &mut BatchScratch,
) {
    let n = weights.weight.len();
    assert!(n > 0 && x.len() == output.len() && x.len().is_multiple_of(n));
    weights.check(n);
    scratch.acc.clear();
    scratch.acc.extend(x.chunks_exact(n).flat_map(|xs| {
        xs.iter()
            .zip(weights.weight)
            .map(|(&x, &w)| w as i32 * (x as i32 - zp))
    }));
    let acc = core::mem::take(&mut scratch.acc);
    requantise(
        &acc,
        n,
        &weights,
        0,
        &[],
        out,
        output,
        &mut scratch.channels,
    );
    scratch.acc = acc;
}

/// [`super::linear`] on `batch` samples side by side: `x` `[batch, inputs]`, `output`
/// `[batch, outputs]`; `weights.weight` is the unpacked weight (the portable path's),
/// `packed` the same packed, `row_sums` each row's weight sum (or empty).
#[allow(clippy::too_many_arguments)]
pub(crate) fn linear_batch(
    x: &[i8],
    input_zero_point: i32,
    weights: Weights,
    packed: &PackedLinear,
    row_sums: &[i32],
    out: Output,
    output: &mut [i8],
    scratch: &mut BatchScratch,
) {
    linear_batch_on(
        isa(),
        x,
        input_zero_point,
        weights,
        packed,
        row_sums,
        out,
        output,
        scratch,
    );
}

/// [`linear_batch`] on instruction set `isa`, which the CPU must have.
#[allow(clippy::too_many_arguments)]
pub(crate) fn linear_batch_on(
    isa: Isa,
    x: &[i8],
    zp: i32,
    weights: Weights,
    packed: &PackedLinear,
    row_sums: &[i32],
    out: Output,
    output: &mut [i8],
    scratch: &mut BatchScratch,
) {
    let (n_in, n_out) = (packed.inputs, packed.outputs);
    if n_out == 0 {
        assert!(output.is_empty(), "outputs of a layer without outputs");
        return;
    }
    let batch = output.len() / n_out;
    assert!(
        output.len() == batch * n_out && x.len() == batch * n_in,
        "{} inputs and {} outputs are not one batch of {n_in}-in, {n_out}-out samples",
        x.len(),
        output.len()
    );
    // One sample: the one-sample inner product, whose rows share the input (no broadcasts).
    if matches!(isa, Isa::Portable) || packed.data.is_empty() || batch == 1 {
        for (s, ys) in output.chunks_exact_mut(n_out).enumerate() {
            linear_with_sums(&x[s * n_in..][..n_in], zp, weights, row_sums, out, ys);
        }
        return;
    }
    assert_eq!(
        weights.weight.len(),
        n_in * n_out,
        "the packed weight's shape"
    );
    weights.check(n_out);
    let (groups, padded) = (packed.groups(), packed.padded_outputs());
    let stride = groups * KG;
    scratch.acc.clear();
    scratch.acc.resize(batch * padded, 0);
    let correction: Option<i32> = match isa {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Isa::Vnni => {
            // `x + 128` as unsigned bytes (the sign bit flipped), taken back by the sums.
            spread(&mut scratch.bytes, stride, x, n_in, |s| s as u8 ^ 0x80);
            // SAFETY: the CPU has AVX-512F, BW and VNNI (the caller's promise, `isa()`'s
            // check); the buffers have the lengths `vnni` asks for, set just above.
            unsafe {
                x86::vnni(
                    &packed.data,
                    groups,
                    &scratch.bytes,
                    batch,
                    &mut scratch.acc,
                    padded,
                )
            };
            Some(128 + zp)
        }
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Isa::Avx2 => {
            // `x − zp` in `i16` (within ±255).
            spread(&mut scratch.words, stride, x, n_in, |s| {
                (s as i32 - zp) as i16
            });
            // SAFETY: the CPU has AVX2 (the caller's promise, `isa()`'s check); the
            // buffers have the lengths `avx2` asks for, set just above.
            unsafe {
                x86::avx2(
                    &packed.data,
                    groups,
                    &scratch.words,
                    batch,
                    &mut scratch.acc,
                    padded,
                )
            };
            None
        }
        _ => unreachable!("a packed weight only where a batched kernel runs"),
    };
    let sums = if correction.is_some() {
        &packed.sums[..]
    } else {
        &[]
    };
    let offset = correction.unwrap_or(0);
    let arrays = &mut scratch.channels;
    requantise(
        &scratch.acc,
        padded,
        &weights,
        offset,
        sums,
        out,
        output,
        arrays,
    );
}

/// `buf` as one row of `stride` per sample of `x` (`n_in` inputs each): each input mapped by
/// `f`, zero past them, as a kernel reads a row.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn spread<T: Copy + Default>(
    buf: &mut Vec<T>,
    stride: usize,
    x: &[i8],
    n_in: usize,
    f: impl Fn(i8) -> T,
) {
    buf.clear();
    buf.resize(x.len() / n_in * stride, T::default());
    for (d, s) in buf.chunks_exact_mut(stride).zip(x.chunks_exact(n_in)) {
        for (d, &s) in d.iter_mut().zip(s) {
            *d = f(s);
        }
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86;

#[cfg(all(test, feature = "std"))]
mod tests;
