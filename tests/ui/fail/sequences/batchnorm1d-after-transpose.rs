// After `Transpose` the sequence is steps of features, which a recurrent layer reads; the
// norm of its channels goes before it.
nn::network! {
    #[input(2, 16)]
    struct Net<Conv1d<2, 8, 3>, Transpose, BatchNorm1d<8>, GRU<8, 4, 14, last = true>>
}

fn main() {}
