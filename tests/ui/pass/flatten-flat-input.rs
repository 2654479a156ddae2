// PyTorch's Quickstart network: `Flatten` on inputs that are already flat passes them
// through, so no `#[input]` is needed; the input width is the first `Linear`'s.
nn::network! {
    pub struct Quickstart<Flatten, Linear<{ 28 * 28 }, 512>, ReLU, Linear<512, 512>, ReLU, Linear<512, 10>>
}

fn main() {
    assert_eq!(Quickstart::IN, 784);
    let net = Quickstart::new(0);
    let _: [f32; 10] = net.forward(&[0.0; 784]);
    let _ = net.predict(&vec![[0.0; 784]; 3]);
}
