// A misspelt layer name.
nn::network! { struct Net<Linaer<784, 128>, ReLU, Linear<128, 10>> }

fn main() {}
