// A network of its own, called on a value of another width than it takes.
nn::network! { struct Encoder<Linear<6, 5>, ReLU, Linear<5, 3>> }
nn::network! {
    struct Net { fc: Linear<4, 7>, enc: Encoder }
    fn forward(x: Features<4>) -> out {
        self.enc(self.fc(x))
    }
}

fn main() {}
