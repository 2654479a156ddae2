// A network generic over its sizes, used with several sizes and as a block of another.
nn::network! { pub struct Mlp<const H: usize> { fc1: Linear<20, H>, act: ReLU, fc2: Linear<H, 4> } }
nn::network! { pub struct Block<const W: usize> { fc1: Linear<W, W>, act: ReLU, fc2: Linear<W, W> } }
nn::network! { pub struct Net { stem: Linear<4, 24>, res: Residual<Block<24>>, head: Linear<24, 2> } }

fn main() {
    let small: [f32; 4] = Mlp::<8>::new(0).forward(&[0.0; 20]);
    let large: [f32; 4] = Mlp::<64>::new(0).forward(&[0.0; 20]);
    let _: [f32; 2] = Net::new(0).forward(&[0.0; 4]);
    let _ = (small, large);
}
