// `HIDDEN` is 4, but the file's first layer has 3 outputs: the macro cannot read `HIDDEN`,
// so the compiler rejects the baked arrays.
const HIDDEN: usize = 4;
nn::network! {
    #[weights("tests/ui/weights/tiny.safetensors")]
    struct Net<Linear<2, HIDDEN>, ReLU, Linear<HIDDEN, 1>>
}

fn main() {}
