// PyTorch pads a pool by at most half its window.
nn::network! {
    #[input(1, 8, 8)]
    struct Net<MaxPool2d<3, stride = 2, padding = 2>, Flatten, Linear<25, 10>>
}

fn main() {}
