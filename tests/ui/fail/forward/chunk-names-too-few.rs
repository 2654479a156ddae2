// Three parts of a chunk named as two.
nn::network! {
    struct Net { fc: Linear<4, 9>, head: Linear<3, 1> }
    fn forward(x: Features<4>) -> out {
        let (a, b) = chunk(self.fc(x), 3);
        self.head(a + b)
    }
}

fn main() {}
