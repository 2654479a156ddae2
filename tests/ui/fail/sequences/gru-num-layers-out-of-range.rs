// PyTorch's `num_layers` starts at 1; a stack of none is a mistake.
nn::network! {
    struct Stack { gru: GRU<3, 8, 10, num_layers = 0>, fc: Linear<80, 2> }
}

// PyTorch's names here reach `_l7`: at most 8 layers.
nn::network! {
    struct Tall { lstm: LSTM<3, 8, 10, last = true, num_layers = 9>, fc: Linear<8, 2> }
}

fn main() {}
