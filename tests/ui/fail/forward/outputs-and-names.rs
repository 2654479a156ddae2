// Three values returned under two names.
nn::network! {
    struct Net { fc1: Linear<4, 8>, fc2: Linear<8, 2> }
    fn forward(x: Features<4>) -> (a, b) {
        let h = self.fc1(x);
        (h, self.fc2(h), x)
    }
}

fn main() {}
