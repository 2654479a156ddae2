// A convolution given an image of other channels than it takes.
nn::network! {
    struct Net { conv1: Conv2d<3, 8, 3>, conv2: Conv2d<16, 8, 3> }
    fn forward(x: Image<3, 16, 16>) -> out {
        self.conv2(relu(self.conv1(x)))
    }
}

fn main() {}
