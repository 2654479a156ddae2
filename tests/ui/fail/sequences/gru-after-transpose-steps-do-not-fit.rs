// 16 channels × 20 are 20 steps of 16, not 10 steps of 32 (the same 320 numbers).
nn::network! {
    #[input(3, 20)]
    struct Net<Conv1d<3, 16, 3, padding = 1>, Transpose, GRU<32, 8, 10, last = true>, Linear<8, 2>>
}

fn main() {}
