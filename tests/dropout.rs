//! Dropout's masks: the one applied in the training pass is the one backward uses, about a
//! fraction `1 − p` of elements is kept, inference is the identity, and the masks are
//! reproducible from the seed.

use nn::{Dropout, Gradients, Layer, Rng, Tape, Zeroable};

const WIDTH: usize = 1000;
const ROWS: usize = 100;

/// `Dropout<WIDTH, P>` seeded from `seed` as `Net::new(seed)` would.
fn layer<const P: u32>(seed: u64) -> Dropout<WIDTH, P> {
    let mut d = Dropout::zeroed();
    d.init(&mut Rng::seed(seed));
    d
}

/// A training pass over `ROWS` rows of ones: the output, and the cache (the mask).
fn train<const P: u32>(d: &mut Dropout<WIDTH, P>) -> (Vec<f32>, Vec<f32>) {
    let x = vec![1.0; ROWS * WIDTH];
    let mut y = vec![f32::NAN; ROWS * WIDTH];
    let mut cache = vec![f32::NAN; Dropout::<WIDTH, P>::cache_len(ROWS)];
    d.forward_train(&x, &mut y, ROWS, &mut cache).unwrap();
    (y, cache)
}

/// Which elements an output of a pass over ones kept.
fn kept(y: &[f32]) -> Vec<bool> {
    y.iter().map(|v| *v != 0.0).collect()
}

#[test]
fn kept_fraction_is_near_one_minus_p() {
    let n = (ROWS * WIDTH) as f64;
    for (p, y) in [
        (0.5, train(&mut layer::<{ 0.5f32.to_bits() }>(1)).0),
        (0.1, train(&mut layer::<{ 0.1f32.to_bits() }>(2)).0),
        (0.8, train(&mut layer::<{ 0.8f32.to_bits() }>(3)).0),
    ] {
        let scale = 1.0 / (1.0 - p as f32);
        assert!(
            y.iter().all(|v| *v == 0.0 || *v == scale),
            "p = {p}: kept ones scaled by 1/(1 − p)"
        );
        let k = kept(&y);
        let frac = k.iter().filter(|k| **k).count() as f64 / n;
        // The count is binomial: its standard deviation is √(p(1 − p)/n), at most 0.0016
        // here; 5 of them make a false alarm a one-in-a-million event.
        let sd = (p * (1.0 - p) / n).sqrt();
        assert!((frac - (1.0 - p)).abs() < 5.0 * sd, "p = {p}: kept {frac}");
        // Neighbours are independent: both kept with probability (1 − p)², within 5 sd of
        // that frequency's own binomial spread.
        let pairs = k.windows(2).filter(|w| w[0] && w[1]).count() as f64 / (n - 1.0);
        let q = (1.0 - p) * (1.0 - p);
        assert!(
            (pairs - q).abs() < 5.0 * (q * (1.0 - q) / n).sqrt(),
            "p = {p}: pairs {pairs}"
        );
    }
}

#[test]
fn p_zero_keeps_everything_and_p_one_nothing() {
    let (y, _) = train(&mut layer::<{ 0.0f32.to_bits() }>(4));
    assert!(y.iter().all(|v| *v == 1.0));
    let (y, _) = train(&mut layer::<{ 1.0f32.to_bits() }>(4));
    assert!(y.iter().all(|v| *v == 0.0));
}

#[test]
fn backward_uses_the_forward_mask() {
    let mut d = layer::<{ 0.3f32.to_bits() }>(5);
    let mut rng = Rng::seed(6);
    let x: Vec<f32> = (0..ROWS * WIDTH).map(|_| rng.uniform(0.5, 1.5)).collect();
    let dy: Vec<f32> = (0..ROWS * WIDTH).map(|_| rng.uniform(0.5, 1.5)).collect();
    let mut y = vec![0.0; x.len()];
    let mut cache = vec![0.0; Dropout::<WIDTH, { 0.3f32.to_bits() }>::cache_len(ROWS)];
    d.forward_train(&x, &mut y, ROWS, &mut cache).unwrap();
    // Another training pass draws another mask: backward must still use the first one,
    // which the cache holds.
    let _ = train(&mut d);
    let mut dx = vec![f32::NAN; x.len()];
    let io = nn::Backward {
        x: &x,
        y: &y,
        dy: &dy,
        batch: ROWS,
        cache: &mut cache,
    };
    d.backward(io, Some(&mut dx), &mut []);
    for i in 0..x.len() {
        // y = m x and dx = m dy for one mask m: so y dy = x dx exactly in the zero case,
        // and to rounding otherwise.
        assert_eq!(
            y[i] == 0.0,
            dx[i] == 0.0,
            "element {i}: forward and backward masks differ"
        );
        assert!((y[i] / x[i] - dx[i] / dy[i]).abs() <= 1e-6 * dx[i].abs() / dy[i]);
    }
}

nn::network! { struct Net<Linear<4, 256>, Dropout, Linear<256, 256>, Dropout<0.2>> }

#[test]
fn in_a_network_the_dropped_outputs_get_no_gradient() {
    let mut net = Net::new(7);
    let x = [[0.5, -1.0, 2.0, 0.25]];
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let y = net.forward_train(&x, &mut tape).unwrap()[0];
    tape.output_grad_mut().fill(1.0);
    net.backward(&x, &mut tape, &mut grads);
    // With one row and dy = 1, the last Linear's bias gradient is the last dropout's mask.
    let gb = grads.get(&net, "2.bias").unwrap();
    for (o, (y, g)) in y.iter().zip(gb).enumerate() {
        assert_eq!(
            *y == 0.0,
            *g == 0.0,
            "output {o}: forward and backward masks differ"
        );
        assert!(
            *g == 0.0 || *g == 1.25,
            "output {o}: gradient {g}, not 0 or 1/(1 − 0.2)"
        );
    }
    // The two dropout layers draw their own seeds from the network's.
    assert_ne!(net.1.seed, net.3.seed);
}

#[test]
fn inference_is_the_identity() {
    let d = layer::<{ 0.5f32.to_bits() }>(8);
    let x: Vec<f32> = (0..WIDTH).map(|i| i as f32 - 500.0).collect();
    let mut y = vec![0.0; WIDTH];
    d.forward(&x, &mut y);
    assert_eq!(x, y);

    // In a network, both inference paths give what the two Linear layers alone give.
    let net = Net::new(9);
    let x = [[0.5, -1.0, 2.0, 0.25], [1.0, 0.0, -3.0, 4.0]];
    let mut h = [0.0; 256];
    let mut out = [0.0; 256];
    for x in &x {
        net.0.forward(x, &mut h);
        net.2.forward(&h, &mut out);
        assert_eq!(net.forward(x), out, "one sample");
    }
    let mut h = vec![0.0; 2 * 256];
    let mut out = vec![0.0; 2 * 256];
    net.0.forward_batch(x.as_flattened(), &mut h, 2, &mut []);
    net.2.forward_batch(&h, &mut out, 2, &mut []);
    assert_eq!(net.predict(&x).as_flattened(), &out[..], "a batch");
}

#[test]
fn same_seed_same_masks() {
    const P: u32 = 0.5f32.to_bits();
    let (mut a, mut b, mut c) = (layer::<P>(10), layer::<P>(10), layer::<P>(11));
    let (a0, b0, c0) = (train(&mut a).1, train(&mut b).1, train(&mut c).1);
    assert_eq!(a0, b0, "same seed, same first mask");
    assert_ne!(a0, c0, "another seed, another mask");
    let (a1, b1) = (train(&mut a).1, train(&mut b).1);
    assert_eq!(a1, b1, "same seed, same second mask");
    assert_ne!(a0, a1, "each training pass draws a new mask");
    assert_eq!((a.step, b.step), (2, 2));

    // Whole networks: two built from one seed train to the same outputs.
    let x = [[0.5, -1.0, 2.0, 0.25]; 3];
    let run = |seed| {
        let mut net = Net::new(seed);
        let mut tape = Tape::new();
        (0..3)
            .map(|_| net.forward_train(&x, &mut tape).unwrap().to_vec())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(12), run(12));
    assert_ne!(run(12), run(13));
}
