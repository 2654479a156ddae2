// A network nested from a template whose residual add has no output zero point in the file:
// the error is at the `+`.
nn::network! {
    pub struct Block<const P: usize> {
        fc1: Linear<N, P>,
        fc2: Linear<P, N>,
    }
    fn forward(x: Features<N>) -> out {
        relu(x + self.fc2(relu(self.fc1(x))))
    }
}

nn::network! {
    #[weights("tests/ui/weights/res-int8-missing-add.safetensors", dtype = int8)]
    struct Net {
        fc: Linear<2, 3>,
        block: Block!<4>,
        out: Linear<3, 1>,
    }
    fn forward(x: Features<2>) -> y {
        self.out(self.block(relu(self.fc(x))))
    }
}

fn main() {}
