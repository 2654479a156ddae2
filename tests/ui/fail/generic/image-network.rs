// A network of images generic over its sizes is not supported.
nn::network! {
    #[input(1, S, S)]
    pub struct Cnn<const S: usize> { conv: Conv2d<1, 4, 3>, flat: Flatten, fc: Linear<16, 2> }
}

fn main() {}
