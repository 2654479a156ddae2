// A Linear takes flat features; the sequence needs flattening first.
nn::network! {
    #[input(2, 10)]
    struct Net<Conv1d<2, 4, 3>, Linear<32, 2>>
}

fn main() {}
