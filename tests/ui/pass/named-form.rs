// Named layers in the angle-bracket form give named fields and `fc1.weight` keys.
nn::network! { pub struct Mnist<fc1: Linear<784, 128>, act: ReLU, bn: BatchNorm<128>, fc2: Linear<128, 10>> }

fn main() {
    let net = Mnist::new(0);
    let _: &nn::Linear<784, 128> = &net.fc1;
    let _: &nn::Linear<128, 10> = &net.fc2;
    let mut names = Vec::new();
    nn::Network::named_params(&*net, &mut |l, n, _, _| names.push(format!("{l}.{n}")));
    assert_eq!(names, ["fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias"]);
}
