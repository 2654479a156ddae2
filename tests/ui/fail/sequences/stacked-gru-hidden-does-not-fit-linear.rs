// The top layer of a stack gives its hidden size, 16; the Linear after it takes 8.
nn::network! {
    struct Stack { gru: GRU<4, 16, 5, last = true, num_layers = 2>, fc: Linear<8, 2> }
}

fn main() {}
