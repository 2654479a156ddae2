// An int8 file baked into the declaration's int8 form: typed int8 in and out, in flash.
nn::network! {
    #[weights("tests/ui/weights/tiny-int8.safetensors", dtype = int8)]
    pub struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

static MODEL: Net = Net::WEIGHTS;

fn main() {
    let mut scratch = [0i8; Net::SCRATCH_BYTES];
    let y: [i8; 1] = MODEL.forward_in(&[12, -40], &mut scratch);
    assert_eq!(y, MODEL.forward(&[12, -40]));
    let _: [f32; 1] = MODEL.logits(&[0.5, -0.25]);
    assert_eq!((Net::IN, Net::OUT, Net::SCRATCH_BYTES), (2, 1, 3));
}
