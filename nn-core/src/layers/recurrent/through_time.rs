//! Backpropagation through time of one recurrent layer, from the gradient of its outputs and
//! what its training pass kept: the gradients of the gates' sums at every step, from which
//! the layer's passes make its weights' and input's gradients. A layer alone, a stack and a
//! layer fed its initial state all run these.

use crate::kernels::recurrent::{GRU_KEEP, LSTM_KEEP};

use super::add_back;

/// Backpropagation through time of one GRU layer, `batch` samples of `steps` steps
/// (`shape`): from the gradient `dy` of its outputs (every step's, or with `last` the last
/// step's alone, per sample) and what the training pass kept (`gates`, the state `before`
/// each step), the gradients of the gates' sums at every step, `[batch · steps, 3H]`: on the
/// input side `dgi`, on the hidden side `dgh`; with `d_start`, the gradient with respect to
/// the state each sample started from, `[batch, H]`.
#[allow(clippy::too_many_arguments)]
pub(super) fn gru_back<const H: usize>(
    w_hh: &[f32],
    gates: &[f32],
    before: &[f32],
    dy: &[f32],
    last: bool,
    (batch, steps): (usize, usize),
    dgi: &mut [f32],
    dgh: &mut [f32],
    mut d_start: Option<&mut [f32]>,
) {
    let out = if last { H } else { steps * H };
    for s in 0..batch {
        let dy = &dy[s * out..][..out];
        let mut dh = [0.0f32; H];
        for t in (0..steps).rev() {
            let at = s * steps + t;
            let upstream = match last {
                false => Some(&dy[t * H..(t + 1) * H]),
                true => (t == steps - 1).then_some(dy),
            };
            if let Some(up) = upstream {
                for (d, u) in dh.iter_mut().zip(up) {
                    *d += u;
                }
            }
            let g = &gates[at * GRU_KEEP * H..][..GRU_KEEP * H];
            let (r, z, nn, ghn) = (&g[..H], &g[H..2 * H], &g[2 * H..3 * H], &g[3 * H..]);
            let hp = &before[at * H..][..H];
            let (gi, gh) = (
                &mut dgi[at * 3 * H..][..3 * H],
                &mut dgh[at * 3 * H..][..3 * H],
            );
            let mut next = [0.0f32; H];
            for j in 0..H {
                let dn = dh[j] * (1.0 - z[j]);
                let dz = dh[j] * (hp[j] - nn[j]);
                let da_n = dn * (1.0 - nn[j] * nn[j]);
                let da_r = da_n * ghn[j] * r[j] * (1.0 - r[j]);
                let da_z = dz * z[j] * (1.0 - z[j]);
                gi[j] = da_r;
                gi[H + j] = da_z;
                gi[2 * H + j] = da_n;
                gh[j] = da_r;
                gh[H + j] = da_z;
                gh[2 * H + j] = da_n * r[j];
                next[j] = dh[j] * z[j];
            }
            add_back(&mut next, w_hh, gh);
            dh = next;
        }
        if let Some(d) = d_start.as_deref_mut() {
            d[s * H..(s + 1) * H].copy_from_slice(&dh);
        }
    }
}

/// Backpropagation through time of one LSTM layer, `batch` samples of `steps` steps
/// (`shape`): from the gradient `dy` of its outputs (every step's, or with `last` the last
/// step's alone, per sample) and what each step kept (`kept`), the gradients of the gates'
/// sums at every step, `da`, `[batch · steps, 4H]`. Each sample's cell state starts at zero,
/// or at its row of `c0`, `[batch, H]`; with `d_start`, the gradients with respect to the
/// hidden and cell states each sample started from, `[batch, H]` each.
#[allow(clippy::too_many_arguments)]
pub(super) fn lstm_back<const H: usize>(
    w_hh: &[f32],
    kept: &[f32],
    dy: &[f32],
    last: bool,
    (batch, steps): (usize, usize),
    da: &mut [f32],
    c0: Option<&[f32]>,
    mut d_start: Option<(&mut [f32], &mut [f32])>,
) {
    let out = if last { H } else { steps * H };
    for s in 0..batch {
        let dy = &dy[s * out..][..out];
        let (mut dh, mut dc) = ([0.0f32; H], [0.0f32; H]);
        for t in (0..steps).rev() {
            let at = s * steps + t;
            let upstream = match last {
                false => Some(&dy[t * H..(t + 1) * H]),
                true => (t == steps - 1).then_some(dy),
            };
            if let Some(up) = upstream {
                for (d, u) in dh.iter_mut().zip(up) {
                    *d += u;
                }
            }
            let k = &kept[at * LSTM_KEEP * H..][..LSTM_KEEP * H];
            let (i, f, g, o) = (&k[..H], &k[H..2 * H], &k[2 * H..3 * H], &k[3 * H..4 * H]);
            let tc = &k[5 * H..6 * H];
            // The cell state before this step: the one the step before kept, or zero.
            let zero = [0.0f32; H];
            let cp = match (t, c0) {
                (0, None) => &zero[..],
                (0, Some(c0)) => &c0[s * H..(s + 1) * H],
                _ => &kept[(at - 1) * LSTM_KEEP * H + 4 * H..][..H],
            };
            let d = &mut da[at * 4 * H..][..4 * H];
            for j in 0..H {
                let c_grad = dc[j] + dh[j] * o[j] * (1.0 - tc[j] * tc[j]);
                d[j] = c_grad * g[j] * i[j] * (1.0 - i[j]);
                d[H + j] = c_grad * cp[j] * f[j] * (1.0 - f[j]);
                d[2 * H + j] = c_grad * i[j] * (1.0 - g[j] * g[j]);
                d[3 * H + j] = dh[j] * tc[j] * o[j] * (1.0 - o[j]);
                dc[j] = c_grad * f[j];
            }
            dh = [0.0; H];
            add_back(&mut dh, w_hh, d);
        }
        if let Some((d_h, d_c)) = d_start.as_mut() {
            d_h[s * H..(s + 1) * H].copy_from_slice(&dh);
            d_c[s * H..(s + 1) * H].copy_from_slice(&dc);
        }
    }
}
