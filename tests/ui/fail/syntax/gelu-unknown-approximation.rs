// GELU is exact, or `GELU<tanh>` for PyTorch's `approximate='tanh'`; nothing else.
nn::network! { struct Net<Linear<784, 128>, GELU<fast>, Linear<128, 10>> }

fn main() {}
