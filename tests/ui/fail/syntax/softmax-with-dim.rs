// Softmax works over each row's features; it takes no `dim` and no size.
nn::network! { struct Net<Linear<784, 10>, Softmax<1>> }

fn main() {}
