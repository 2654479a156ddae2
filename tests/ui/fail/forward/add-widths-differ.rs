// A value of 32 features added to one of 64.
nn::network! {
    struct Net { fc1: Linear<64, 32>, fc2: Linear<32, 10> }
    fn forward(x: Features<64>) -> out {
        let h = relu(self.fc1(x));
        self.fc2(h + x)
    }
}

fn main() {}
