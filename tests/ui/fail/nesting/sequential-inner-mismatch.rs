// A mistake inside an inline `Sequential` is reported at the inner layer.
nn::network! {
    struct Net { flatten: Linear<784, 784>, stack: Sequential<Linear<784, 512>, ReLU, Linear<256, 10>> }
}

fn main() {}
