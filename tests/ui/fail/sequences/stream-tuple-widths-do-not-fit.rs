// A streamed tuple's layer takes the output of the one before: this tanh takes 8 features,
// the convolution before it gives 16.
use nn::{Conv1d, Conv1dCell, Stream, Tanh, Zeroable};

type C = Conv1d<1, 16, 3, 1, 2, 0, 1, 1, 40, 1>;

fn main() {
    let conv = C::zeroed();
    let stack = (Conv1dCell::new(&conv), Tanh::<8>::default());
    let mut state = Default::default();
    let _ = stack.step(&[0.5], &mut state);
}
