// A 3 × 3 kernel dilated by 3 spans 7 rows, more than the 5 × 5 image.
nn::network! {
    #[input(1, 5, 5)]
    struct Net<Conv2d<1, 4, 3, dilation = 3>, Flatten, Linear<4, 10>>
}

fn main() {}
