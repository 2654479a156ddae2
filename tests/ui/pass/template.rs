// A network of images generic over its sizes is a template: each use declares it at its
// sizes, the image's from the layer before.
nn::network! {
    #[input(C, S, S)]
    pub struct Stem<const OUT: usize> { conv: Conv2d<C, OUT, 3>, act: ReLU }
}

nn::network! {
    #[input(1, 12, 12)]
    struct Cnn { a: Stem!<4>, b: Stem!<8>, flat: Flatten, fc: Linear<512, 2> }
}

fn main() {
    let net = Cnn::new(0);
    assert_eq!(net.forward(&[0.5; 144]).len(), 2);
}
