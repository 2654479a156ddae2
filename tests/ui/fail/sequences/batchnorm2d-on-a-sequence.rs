// PyTorch's norm of a sequence's channels is `BatchNorm1d`, not `BatchNorm2d`.
nn::network! {
    #[input(2, 32)]
    struct Net<Conv1d<2, 8, 3>, BatchNorm2d<8>, ReLU, Flatten, Linear<240, 2>>
}

fn main() {}
