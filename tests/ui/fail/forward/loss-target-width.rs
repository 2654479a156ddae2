// An objective comparing an output of 10 features with a target of 5.
nn::network! {
    struct Net { fc: Linear<4, 10> }
    fn forward(x: Features<4>) -> out {
        self.fc(x)
    }
    fn loss(target: Features<5>) {
        mse_loss(out, target)
    }
}

fn main() {}
