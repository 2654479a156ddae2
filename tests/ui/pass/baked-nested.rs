// A network nested in a network with baked weights fills itself from the file, and a
// width-keeping activation of the user's own bakes as the built-in ones do.
struct Square;
impl nn::Activation for Square {
    const NAME: &'static str = "Square";
    fn f(x: f32) -> f32 { x * x }
    fn df(x: f32, _: f32) -> f32 { 2.0 * x }
}
nn::network! { pub struct Head<Linear<3, 1>> }
nn::network! {
    #[weights("tests/ui/weights/nested.safetensors")]
    pub struct Net<Linear<2, 3>, nn::Elementwise<Square, 3>, Head>
}

static MODEL: Net = Net::WEIGHTS;

fn main() {
    let _: [f32; 1] = MODEL.forward(&[0.5, -1.0]);
}
