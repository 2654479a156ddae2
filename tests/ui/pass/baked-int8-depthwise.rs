// A depthwise convolution with `padding = same` and no bias, the global average pool, baked
// in int8: typed int8 in and out.
nn::network! {
    #[input(4, 5, 5)]
    #[weights("tests/ui/weights/dw-int8.safetensors", dtype = int8)]
    pub struct Net<
        Conv2d<4, 4, 3, padding = same, groups = 4, bias = false>, ReLU,
        AdaptiveAvgPool2d<1>, Flatten, Linear<4, 2>,
    >
}

static MODEL: Net = Net::WEIGHTS;

fn main() {
    let x = [3i8; 100];
    let mut scratch = [0i8; Net::SCRATCH_BYTES];
    let y: [i8; 2] = MODEL.forward_in(&x, &mut scratch);
    assert_eq!(y, MODEL.forward(&x));
    // The depthwise output (100) and the pooled one (4) at the scratch's two ends.
    assert_eq!((Net::IN, Net::OUT, Net::SCRATCH_BYTES), (100, 2, 104));
}
