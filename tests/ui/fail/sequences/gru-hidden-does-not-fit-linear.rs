// The GRU's last step gives 64 features; the Linear after it takes 32.
nn::network! {
    struct RowGru { gru: GRU<28, 64, 28, last = true>, fc: Linear<32, 10> }
}

fn main() {}
