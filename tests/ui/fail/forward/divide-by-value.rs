// A value divided by a value.
nn::network! {
    struct Net { fc1: Linear<4, 4>, fc2: Linear<4, 4> }
    fn forward(x: Features<4>) -> out {
        self.fc1(x) / self.fc2(x)
    }
}

fn main() {}
