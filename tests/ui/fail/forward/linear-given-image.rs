// A linear layer given an image.
nn::network! {
    struct Net { conv: Conv2d<1, 4, 3>, fc: Linear<144, 10> }
    fn forward(x: Image<1, 8, 8>) -> logits {
        self.fc(relu(self.conv(x)))
    }
}

fn main() {}
