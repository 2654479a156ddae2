// Dilated by 2 down the rows and 1 across, a 3 × 3 kernel on 10 × 10 makes 6 × 8 at 4
// channels, 192 features; the Linear after it takes 160.
nn::network! {
    #[input(1, 10, 10)]
    struct Net<Conv2d<1, 4, 3, dilation = (2, 1)>, Flatten, Linear<160, 10>>
}

fn main() {}
