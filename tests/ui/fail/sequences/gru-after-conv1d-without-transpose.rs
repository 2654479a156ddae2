// A GRU reads steps of features; a Conv1d gives channels × length.
nn::network! {
    #[input(3, 20)]
    struct Net<Conv1d<3, 16, 3, padding = 1>, GRU<16, 32, 20, last = true>, Linear<32, 2>>
}

fn main() {}
