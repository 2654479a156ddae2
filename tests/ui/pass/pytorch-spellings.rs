// PyTorch's spellings that `network!` reads as written, with no warning: `BatchNorm1d`,
// sizes as expressions, bare or in the braces Rust would need.
#![deny(warnings)]

const HIDDEN: usize = 64;

nn::network! { struct Mlp<Linear<28 * 28, 512>, BatchNorm1d<512>, ReLU, Linear<{ 2 * 256 }, 10>> }
nn::network! { struct Sized<Linear<HIDDEN * 2, HIDDEN>, ReLU, Linear<{ HIDDEN }, 10>> }
nn::network! {
    #[input(1, 28, 28)]
    struct Cnn<Conv2d<1, 8, 3, stride = 1 + 1>, ReLU, Flatten, Linear<8 * 13 * 13, 10>>
}

fn main() {
    assert_eq!((Mlp::IN, Mlp::OUT), (784, 10));
    assert_eq!(Sized::IN, 128);
    assert_eq!(Cnn::IN, 784);
    let _: [f32; 10] = Mlp::new(0).forward(&[0.5; 784]);
    let _: [f32; 10] = Cnn::new(0).forward(&[0.5; 784]);
}
