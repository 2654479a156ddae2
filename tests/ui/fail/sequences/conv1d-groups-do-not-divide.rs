// 6 input channels do not split into 4 groups.
nn::network! {
    #[input(6, 16)]
    struct Net<Conv1d<6, 8, 3, groups = 4>, Flatten, Linear<112, 2>>
}

fn main() {}
