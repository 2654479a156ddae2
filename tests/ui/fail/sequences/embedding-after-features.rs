// An embedding looks up indices; a Linear before it produces floats.
nn::network! { struct Net<Linear<4, 6>, Embedding<10, 4, 6>, Flatten, Linear<24, 2>> }

fn main() {}
