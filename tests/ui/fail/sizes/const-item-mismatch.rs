// Sizes given as const items are checked by the compiler, not the macro.
const HIDDEN: usize = 64;

nn::network! { struct Net<Linear<784, HIDDEN>, ReLU, Linear<128, 10>> }

fn main() {}
