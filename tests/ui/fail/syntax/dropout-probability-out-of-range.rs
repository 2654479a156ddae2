// Dropout's probability of zeroing an element is between 0 and 1.
nn::network! { struct Net<Linear<784, 128>, ReLU, Dropout<1.5>, Linear<128, 10>> }

fn main() {}
