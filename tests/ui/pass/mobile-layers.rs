// The layers of the models that ship on microcontrollers: a convolution with a pair kernel
// and TensorFlow's `same` padding at stride 2, depthwise and grouped convolutions, dilation,
// pools with strides, padding and pair windows, the global average pool; one-sample
// inference.
nn::network! {
    #[input(1, 49, 10)]
    pub struct Kws<
        Conv2d<1, 8, (10, 4), stride = 2, padding = same, bias = false>, BatchNorm2d<8>, ReLU,
        Conv2d<8, 8, 3, padding = same, groups = 8>, ReLU6,
        Conv2d<8, 8, 3, padding = 2, dilation = 2, groups = 2>, Hardswish,
        MaxPool2d<3, stride = 1, padding = 1>,
        AvgPool2d<(25, 5)>,
        AdaptiveAvgPool2d<1>, Flatten, Linear<8, 12>,
    >
}

fn main() {
    let net = Kws::new(0);
    let mut y = [0.0f32; 12];
    nn::Network::forward_slice(&*net, &[0.5; 490], &mut y);
    assert!(y.iter().all(|v| v.is_finite()));
}
