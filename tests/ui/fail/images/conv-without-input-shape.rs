// A convolution first, but the network's input shape is not declared.
nn::network! { struct Net<Conv2d<1, 8, 3>, ReLU, Flatten, Linear<5408, 10>> }

fn main() {}
