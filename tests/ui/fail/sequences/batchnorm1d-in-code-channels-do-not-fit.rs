// In a forward written as code, the norm is called on the convolution's 4 channels, but it
// normalises 3.
nn::network! {
    struct Block {
        conv: Conv1d<2, 4, 3, padding = 1>,
        bn: BatchNorm1d<3>,
    }
    fn forward(x: Sequence<2, 8>) -> out {
        tanh(self.bn(self.conv(x)))
    }
}

fn main() {}
