// Ten features cannot be split in three equal parts.
nn::network! {
    struct Net { fc: Linear<4, 10>, head: Linear<3, 1> }
    fn forward(x: Features<4>) -> out {
        let (a, b, c) = chunk(self.fc(x), 3);
        self.head(a + b + c)
    }
}

fn main() {}
