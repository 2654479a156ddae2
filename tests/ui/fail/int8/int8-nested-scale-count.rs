// A network nested from a template, its second layer's file holding two weight scales for
// three output channels: the error is at the template's layer, naming the tensor as the file
// does.
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
    #[weights("tests/ui/weights/res-int8-scale-count.safetensors", dtype = int8)]
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
