// An activation first: the network's input size would be unknown.
nn::network! { struct Net<ReLU, Linear<784, 10>> }

fn main() {}
