// An int8 network whose forward is code, with a network nested from a template and a residual
// add, baked: its sizes and layers are the declaration's.
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
    #[weights("tests/ui/weights/res-int8.safetensors", dtype = int8)]
    struct Net {
        fc: Linear<2, 3>,
        block: Block!<4>,
        out: Linear<3, 1>,
    }
    fn forward(x: Features<2>) -> y {
        self.out(self.block(relu(self.fc(x))))
    }
}

static NET: Net = Net::WEIGHTS;

fn main() {
    let _: [i8; 1] = NET.forward(&[3, -7]);
    assert_eq!(Net::LAYERS.len(), 5);
    // The block's input (3) is kept while its first layer's output (4) and its second's (3)
    // are made; the block's output (3) then takes the first's place.
    assert_eq!(Net::SCRATCH_BYTES, 3 + 4 + 3);
}
