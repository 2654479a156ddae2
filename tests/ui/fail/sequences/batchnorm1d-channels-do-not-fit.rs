// The convolution gives 8 channels; the norm after it says 6.
nn::network! {
    #[input(2, 32)]
    struct Net<Conv1d<2, 8, 3>, BatchNorm1d<6>, ReLU, Flatten, Linear<240, 2>>
}

fn main() {}
