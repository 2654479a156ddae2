// The first layer of a stack reads 6 features per step; the Linear before it gives 5 · 4 = 20,
// not 6 · 4 = 24.
nn::network! {
    struct Stack { fc: Linear<10, 20>, lstm: LSTM<6, 8, 4, num_layers = 3> }
}

fn main() {}
