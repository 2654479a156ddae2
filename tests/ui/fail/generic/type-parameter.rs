// A network is generic over sizes only.
nn::network! { pub struct Net<'a, const H: usize> { fc1: Linear<20, H>, fc2: Linear<H, 4> } }

fn main() {}
