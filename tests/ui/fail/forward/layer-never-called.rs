// A layer declared but never called.
nn::network! {
    struct Net { fc1: Linear<4, 8>, fc2: Linear<8, 2>, fc3: Linear<2, 2> }
    fn forward(x: Features<4>) -> out {
        self.fc2(relu(self.fc1(x)))
    }
}

fn main() {}
