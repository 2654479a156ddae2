// A GRU's sample is T steps: its sizes are IN, H and T.
nn::network! { struct Net<GRU<28, 64>, Linear<64, 10>> }

fn main() {}
