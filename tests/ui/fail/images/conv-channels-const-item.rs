// Channels given as const items are compared by the compiler.
const FEATURES: usize = 8;
const WIDER: usize = 16;

nn::network! {
    #[input(1, 28, 28)]
    struct Net<Conv2d<1, FEATURES, 3>, ReLU, Conv2d<WIDER, 16, 3>, Flatten, Linear<9216, 10>>
}

fn main() {}
