// Stable Rust cannot compute `2 * H` inside a type.
nn::network! { pub struct Wide<const H: usize> { fc1: Linear<20, { 2 * H }>, fc2: Linear<{ 2 * H }, 4> } }

fn main() {}
