// Only a convolution pads causally.
nn::network! {
    #[input(1, 16)]
    struct Net<AvgPool1d<2, padding = causal>, Flatten, Linear<8, 1>>
}

fn main() {}
