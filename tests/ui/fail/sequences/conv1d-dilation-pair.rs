// A 1-D convolution has one side: its dilation is one size, not a pair.
nn::network! {
    #[input(1, 32)]
    struct Net<Conv1d<1, 4, 3, dilation = (2, 1)>, Flatten, Linear<112, 10>>
}

fn main() {}
