// Dilated by 1 down the rows and 4 across, a 3 × 3 kernel spans 9 columns, more than the
// 8 × 6 image's 6 with one column of padding on each side.
nn::network! {
    #[input(1, 8, 6)]
    struct Net<Conv2d<1, 4, 3, padding = 1, dilation = (1, 4)>, Flatten, Linear<128, 10>>
}

fn main() {}
