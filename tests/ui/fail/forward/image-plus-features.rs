// An image added to flat features.
nn::network! {
    struct Net { conv: Conv2d<1, 2, 3, padding = 1>, fc: Linear<128, 128> }
    fn forward(x: Image<1, 8, 8>) -> out {
        let f = self.fc(flatten(self.conv(x)));
        self.conv(x) + f
    }
}

fn main() {}
