// A dilation of 0 across: every size must be at least 1.
nn::network! {
    #[input(1, 8, 8)]
    struct Net<Conv2d<1, 4, 3, dilation = (2, 0)>, Flatten, Linear<144, 10>>
}

fn main() {}
