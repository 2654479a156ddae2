// Six input channels do not split into four groups.
nn::network! {
    #[input(6, 8, 8)]
    struct Net<Conv2d<6, 8, 3, groups = 4>, Flatten, Linear<288, 10>>
}

fn main() {}
