// One batch norm called on 8 features and on 4.
nn::network! {
    struct Net { fc1: Linear<4, 8>, fc2: Linear<8, 4>, bn: BatchNorm<8> }
    fn forward(x: Features<4>) -> out {
        let h = self.bn(self.fc1(x));
        self.bn(self.fc2(h))
    }
}

fn main() {}
