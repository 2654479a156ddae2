// A named network leaves a layer with parameters unnamed: it needs a name for its tensors.
nn::network! { struct Net<fc1: Linear<784, 128>, ReLU, Linear<128, 10>> }

fn main() {}
