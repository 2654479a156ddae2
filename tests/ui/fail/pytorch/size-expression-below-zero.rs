// A size computed to below zero.
nn::network! { struct Net<Linear<28 * 28, 64 - 65>, ReLU> }

fn main() {}
