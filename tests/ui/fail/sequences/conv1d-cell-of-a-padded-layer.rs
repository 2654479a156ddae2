// A cell streams a causal layer; this one pads both ends.
nn::network! {
    #[input(1, 16)]
    struct Net { conv: Conv1d<1, 4, 3, padding = 1> }
}

fn main() {
    let net = Net::new(0);
    let _ = nn::Conv1dCell::new(&net.conv);
}
