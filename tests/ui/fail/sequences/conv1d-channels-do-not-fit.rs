// The first convolution gives 8 channels; the second takes 6.
nn::network! {
    #[input(1, 32)]
    struct Net<Conv1d<1, 8, 3>, ReLU, Conv1d<6, 8, 3>, Flatten, Linear<224, 2>>
}

fn main() {}
