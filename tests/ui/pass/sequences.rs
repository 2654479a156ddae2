// A sequence declared once, every length computed: a strided, a causal dilated and a grouped
// convolution with const-item sizes, the pools, then steps into a GRU.
const C: usize = 8;

nn::network! {
    #[input(2, 64)]
    struct Audio {
        conv1: Conv1d<2, C, 5, stride = 2, padding = 2>,
        act: Tanh,
        conv2: Conv1d<C, C, 3, dilation = 2, padding = causal, groups = 2, bias = false>,
        pool: MaxPool1d<2>,
        avg: AvgPool1d<3, stride = 1, padding = 1>,
        steps: Transpose,
        gru: GRU<C, 16, 16, last = true>,
        fc: Linear<16, 3>,
    }
}

nn::network! {
    #[input(4, 10)]
    struct Global<Conv1d<4, 6, 3, padding = same>, AdaptiveAvgPool1d<1>, Flatten, Linear<6, 2>>
}

fn main() {
    let net = Audio::new(0);
    let _: [f32; 3] = net.forward(&[0.5; 128]);
    assert!(Audio::summary().to_string().contains("MaxPool1d<2>"));
    let _: [f32; 2] = Global::new(0).forward(&[1.0; 40]);
}
