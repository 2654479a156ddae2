// A generic block that changes the width, in a residual block: found when the sizes are known.
nn::network! { pub struct Shrink<const W: usize> { fc: Linear<W, 4> } }
nn::network! { pub struct Net<const W: usize> { stem: Linear<6, W>, res: Residual<Shrink<W>> } }

fn main() {
    let _ = Net::<8>::new(0);
}
