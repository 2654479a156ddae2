//! The one implementation behind every network's batched passes: its layers run in a
//! chain over one cache, laid out from the network's [`LayerInfo`]s.
//!
//! For `n` layers over `batch` rows the cache holds, in order: the outputs of layers
//! `0..n-1` (the last layer writes the network's output), each layer's own cache, and two
//! gradient buffers that backward uses in turn as a layer's output and input gradient.

use crate::{Backward, LayerInfo};

/// Floats of cache a chain of `layers` needs for `batch` rows.
pub fn cache_len(layers: &[LayerInfo], batch: usize) -> usize {
    let (acts, caches, widest) = sizes(layers, batch);
    acts + caches + 2 * batch * widest
}

/// The total length of the inner outputs, of the layers' caches, and the widest inner
/// output.
fn sizes(layers: &[LayerInfo], batch: usize) -> (usize, usize, usize) {
    let inner = &layers[..layers.len().saturating_sub(1)];
    let acts = inner.iter().map(|l| batch * l.outputs).sum();
    let caches = layers.iter().map(|l| l.cache_len_for(batch)).sum();
    let widest = inner.iter().map(|l| l.outputs).max().unwrap_or(0);
    (acts, caches, widest)
}

/// Where layer `i`'s output and cache start in the chain's cache.
fn offsets(layers: &[LayerInfo], batch: usize, i: usize) -> (usize, usize) {
    let (acts, _, _) = sizes(layers, batch);
    let act = layers[..i].iter().map(|l| batch * l.outputs).sum();
    let cache = acts
        + layers[..i]
            .iter()
            .map(|l| l.cache_len_for(batch))
            .sum::<usize>();
    (act, cache)
}

/// For layer `i` of a forward pass: its input (`x` for the first layer), its output (`y`
/// for the last) and its cache.
pub fn forward_io<'a>(
    layers: &[LayerInfo],
    batch: usize,
    i: usize,
    x: &'a [f32],
    y: &'a mut [f32],
    cache: &'a mut [f32],
) -> (&'a [f32], &'a mut [f32], &'a mut [f32]) {
    let n = layers.len();
    let (act, own) = offsets(layers, batch, i);
    let cache_len = layers[i].cache_len_for(batch);
    let (acts, rest) = cache.split_at_mut(own);
    let own = &mut rest[..cache_len];
    let (before, from) = acts.split_at_mut(act);
    let input = if i == 0 {
        x
    } else {
        let w = batch * layers[i - 1].outputs;
        &before[before.len() - w..]
    };
    let output = if i + 1 == n {
        &mut y[..batch * layers[i].outputs]
    } else {
        &mut from[..batch * layers[i].outputs]
    };
    (input, output, own)
}

/// For layer `i` of a backward pass through a chain whose input was `x`, output `y` and
/// output gradient `dy`: what the layer reads, and where its input gradient goes (`dx`
/// for the first layer, a gradient buffer otherwise). Layers run from the last to the
/// first, the input gradient of one becoming the output gradient of the one before.
pub fn backward_io<'a>(
    layers: &[LayerInfo],
    io: &'a mut Backward<'_>,
    dx: &'a mut Option<&mut [f32]>,
    i: usize,
) -> (Backward<'a>, Option<&'a mut [f32]>) {
    let (n, batch) = (layers.len(), io.batch);
    let (acts, caches, widest) = sizes(layers, batch);
    let (act, own) = offsets(layers, batch, i);
    let cache_len = layers[i].cache_len_for(batch);
    let (act_region, rest) = io.cache.split_at_mut(acts);
    let (cache_region, grads) = rest.split_at_mut(caches);
    let own = &mut cache_region[own - acts..][..cache_len];
    let (g0, g1) = grads.split_at_mut(batch * widest);
    // Layer `n-1` writes into g0, `n-2` into g1, and so on.
    let (dy_buf, dx_buf) = if (n - 1 - i).is_multiple_of(2) {
        (g1, g0)
    } else {
        (g0, g1)
    };
    let act_region = &*act_region;
    let input = if i == 0 {
        io.x
    } else {
        let w = batch * layers[i - 1].outputs;
        &act_region[act - w..act]
    };
    let (output, dy) = if i + 1 == n {
        (io.y, io.dy)
    } else {
        let w = batch * layers[i].outputs;
        (&act_region[act..act + w], &dy_buf[..w])
    };
    let dx = if i == 0 {
        dx.as_deref_mut()
    } else {
        Some(&mut dx_buf[..batch * layers[i - 1].outputs])
    };
    let io = Backward {
        x: input,
        y: output,
        dy,
        batch,
        cache: own,
    };
    (io, dx)
}
