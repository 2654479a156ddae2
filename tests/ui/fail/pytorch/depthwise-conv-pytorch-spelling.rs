// PyTorch's depthwise convolution with its string padding, answered in `network!`'s terms.
nn::network! {
    #[input(8, 12, 12)]
    struct Net<nn.Conv2d(8, 8, 3, padding="same", groups=8), Flatten, Linear<1152, 10>>
}

fn main() {}
