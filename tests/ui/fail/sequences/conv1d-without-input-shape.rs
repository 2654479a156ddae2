// The sequence's channels and length are not declared.
nn::network! { struct Net<Conv1d<1, 8, 3>, Flatten, Linear<48, 2>> }

fn main() {}
