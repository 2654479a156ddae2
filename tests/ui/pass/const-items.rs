// Sizes from const items are checked by the compiler and usable in types.
const IN: usize = 16;
const HIDDEN: usize = 2 * 12;

nn::network! { struct Net<Linear<IN, HIDDEN>, ReLU, BatchNorm<HIDDEN>, Linear<HIDDEN, 3>> }

const _: () = assert!(Net::IN == IN && Net::OUT == 3);

fn main() {
    let y: [f32; 3] = Net::new(0).forward(&[1.0; IN]);
    assert!(y.iter().all(|v| v.is_finite()));
}
