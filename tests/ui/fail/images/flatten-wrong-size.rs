// The small MNIST CNN with the size after `Flatten` wrong: 16 × 5 × 5 = 400, not 256.
nn::network! {
    #[input(1, 28, 28)]
    struct Cnn<
        Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>,
        Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>,
        Flatten, Linear<256, 10>,
    >
}

fn main() {}
