// A misspelt built-in layer: the nearest name is suggested.
nn::network! { struct Net<Linaer<784, 128>, ReLU, Linear<128, 10>> }

fn main() {}
