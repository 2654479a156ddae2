// Only built-in layers can have their weights baked in; `Elementwise<Square, 3>` is the user's own.
struct Square;
impl nn::Activation for Square {
    const NAME: &'static str = "Square";
    fn f(x: f32) -> f32 {
        x * x
    }
    fn df(x: f32, _: f32) -> f32 {
        2.0 * x
    }
}
nn::network! {
    #[weights("tests/ui/weights/tiny.safetensors")]
    struct Net<Linear<2, 3>, nn::Elementwise<Square, 3>, Linear<3, 1>>
}

fn main() {}
