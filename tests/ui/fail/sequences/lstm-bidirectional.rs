// PyTorch's `bidirectional=True` has no counterpart here.
nn::network! { struct Net<LSTM<1, 8, 4, bidirectional = true>, Linear<64, 1>> }

fn main() {}
