// Eight samples padded by 1 are 10 long; a kernel of 5 dilated by 3 spans 13.
nn::network! {
    #[input(2, 8)]
    struct Net<Conv1d<2, 4, 5, padding = 1, dilation = 3>, Flatten, Linear<16, 2>>
}

fn main() {}
