// `Sequential` needs its layers.
nn::network! { struct Net { fc: Linear<4, 8>, stack: Sequential } }

fn main() {}
