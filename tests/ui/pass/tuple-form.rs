// The MNIST network, unnamed layers: a tuple struct whose parameters are named
// as `nn.Sequential` names them.
nn::network! { pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>> }

fn main() {
    let net = Mnist::new(0);
    let _: &nn::Linear<784, 128> = &net.0;
    let _: &nn::BatchNorm<128> = &net.2;
    let y: [f32; 10] = net.forward(&[0.0; 784]);
    assert!(y.iter().all(|v| v.is_finite()));
    let mut names = Vec::new();
    nn::Network::named_params(&*net, &mut |l, n, _, _| names.push(format!("{l}.{n}")));
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias"]);
    assert_eq!((Mnist::IN, Mnist::OUT, Mnist::PARAMS), (784, 10, 102_026));
}
