// A layer given a value of another width than it takes.
nn::network! {
    struct Net { fc1: Linear<784, 32>, fc2: Linear<64, 10> }
    fn forward(x: Features<784>) -> logits {
        let h = relu(self.fc1(x));
        self.fc2(h)
    }
}

fn main() {}
