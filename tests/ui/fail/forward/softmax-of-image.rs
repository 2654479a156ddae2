// Softmax over an image's rows is not what is meant.
nn::network! {
    struct Net { conv: Conv2d<1, 2, 3> }
    fn forward(x: Image<1, 8, 8>) -> out {
        softmax(self.conv(x))
    }
}

fn main() {}
