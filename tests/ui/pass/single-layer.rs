// One layer is a network too.
nn::network! { struct Net<Linear<3, 2>> }

fn main() {
    let mut net = Net::new(0);
    net.0.weight = [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]];
    net.0.bias = [0.0, 1.0];
    assert_eq!(net.forward(&[1.0, 2.0, 3.0]), [1.0, 6.0]);
}
