// A layer with no outputs.
nn::network! { struct Net<Linear<784, 0>> }

fn main() {}
