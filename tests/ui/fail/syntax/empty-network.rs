// A network with no layers.
nn::network! { struct Net<> }

fn main() {}
