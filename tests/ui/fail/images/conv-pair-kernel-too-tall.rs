// A 10 × 4 kernel on an image 8 rows tall.
nn::network! {
    #[input(1, 8, 10)]
    struct Net<Conv2d<1, 4, (10, 4), stride = 2>, Flatten, Linear<16, 10>>
}

fn main() {}
