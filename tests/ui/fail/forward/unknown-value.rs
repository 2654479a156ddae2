// A name that is not a value of the forward.
nn::network! {
    struct Net { fc1: Linear<4, 8>, fc2: Linear<8, 2> }
    fn forward(x: Features<4>) -> out {
        let hidden = relu(self.fc1(x));
        self.fc2(hiden)
    }
}

fn main() {}
