// `bias = false`, PyTorch's `bias=False`: a `Conv2d` or `Linear` whose only tensor is its
// weight (as before a batch norm, whose shift makes a bias redundant).
nn::network! {
    #[input(3, 8, 8)]
    pub struct Net {
        conv: Conv2d<3, 16, 3, padding = 1, bias = false>,
        bn: BatchNorm2d<16>,
        act: ReLU,
        flat: Flatten,
        fc: Linear<1024, 10, bias = false>,
        out: Linear<10, 2, bias = true>,
    }
}

fn main() {
    let net = Net::new(0);
    let _: &nn::Conv2d<3, 16, 3, 1, 1, 8, 8, false> = &net.conv;
    let _: &nn::Linear<1024, 10, false> = &net.fc;
    let _: &nn::Linear<10, 2> = &net.out;
    let _: [f32; 2] = net.forward(&[0.5; 3 * 8 * 8]);
    assert_eq!(Net::PARAMS, 16 * 27 + 2 * 16 + 10240 + (20 + 2));
    let mut names = Vec::new();
    nn::Network::named_params(&*net, &mut |layer, name, _, _| names.push(format!("{layer}.{name}")));
    assert_eq!(names, ["conv.weight", "bn.weight", "bn.bias", "fc.weight", "out.weight", "out.bias"]);
}
