// A pair of sizes has two.
nn::network! {
    #[input(1, 8, 8)]
    struct Net<Conv2d<1, 4, (3, 3, 3)>, Flatten, Linear<144, 10>>
}

fn main() {}
