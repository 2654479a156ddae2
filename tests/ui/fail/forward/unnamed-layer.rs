// A forward calls its layers by name.
nn::network! {
    struct Net { fc: Linear<4, 4>, ReLU }
    fn forward(x: Features<4>) -> out {
        self.fc(x)
    }
}

fn main() {}
