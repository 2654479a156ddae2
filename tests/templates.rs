//! A network declared once and used at several sizes (a template): torchvision's
//! `BasicBlock` at 16, 32 and 64 channels, strides 1 and 2, in images whose sides are
//! computed. Each use declares a network at those sizes; it must be the network a user
//! would declare at them by hand, bit for bit, in a chain and in a forward written as code.

use nn::{Network, Tape};

nn::network! {
    /// torchvision's `BasicBlock` with an identity shortcut.
    struct Plain<const PLANES: usize> {
        conv1: Conv2d<C, PLANES, 3, padding = 1, bias = false>,
        bn1: BatchNorm2d<PLANES>,
        conv2: Conv2d<PLANES, PLANES, 3, padding = 1, bias = false>,
        bn2: BatchNorm2d<PLANES>,
    }
    fn forward(x: Image<C, H, W>) -> out {
        let out = relu(self.bn1(self.conv1(x)));
        relu(self.bn2(self.conv2(out)) + x)
    }
}

nn::network! {
    /// torchvision's `BasicBlock` with a projection shortcut.
    pub struct Down<const PLANES: usize, const STRIDE: usize> {
        conv1: Conv2d<C, PLANES, 3, stride = STRIDE, padding = 1, bias = false>,
        bn1: BatchNorm2d<PLANES>,
        conv2: Conv2d<PLANES, PLANES, 3, padding = 1, bias = false>,
        bn2: BatchNorm2d<PLANES>,
        downsample: Sequential<Conv2d<C, PLANES, 1, stride = STRIDE, bias = false>, BatchNorm2d<PLANES>>,
    }
    fn forward(x: Image<C, H, W>) -> out {
        let out = relu(self.bn1(self.conv1(x)));
        let out = self.bn2(self.conv2(out));
        relu(out + self.downsample(x))
    }
}

nn::network! {
    /// MLPerf Tiny's ResNet-8 for 32 × 32 images, its stacks from the two templates.
    #[input(3, 32, 32)]
    struct ResNet8 {
        conv: Conv2d<3, 16, 3, padding = 1, bias = false>,
        bn: BatchNorm2d<16>,
        act: ReLU,
        stack1: Plain!<16>,
        stack2: Down!<32, 2>,
        stack3: Down!<64, 2>,
        pool: AvgPool2d<8>,
        flat: Flatten,
        fc: Linear<64, 10>,
    }
}

nn::network! {
    /// The same network, its forward written as code.
    struct ResNet8Code {
        conv: Conv2d<3, 16, 3, padding = 1, bias = false>,
        bn: BatchNorm2d<16>,
        stack1: Plain!<16>,
        stack2: Down!<32, 2>,
        stack3: Down!<64, 2>,
        pool: AvgPool2d<8>,
        fc: Linear<64, 10>,
    }
    fn forward(x: Image<3, 32, 32>) -> logits {
        let h = relu(self.bn(self.conv(x)));
        let h = self.stack3(self.stack2(self.stack1(h)));
        self.fc(flatten(self.pool(h)))
    }
}

nn::network! {
    /// `Down!<32, 2>` on a 16 × 32 × 32 image, declared by hand.
    struct Down32 {
        conv1: Conv2d<16, 32, 3, stride = 2, padding = 1, bias = false>,
        bn1: BatchNorm2d<32>,
        conv2: Conv2d<32, 32, 3, padding = 1, bias = false>,
        bn2: BatchNorm2d<32>,
        downsample: Sequential<Conv2d<16, 32, 1, stride = 2, bias = false>, BatchNorm2d<32>>,
    }
    fn forward(x: Image<16, 32, 32>) -> out {
        let out = relu(self.bn1(self.conv1(x)));
        let out = self.bn2(self.conv2(out));
        relu(out + self.downsample(x))
    }
}

nn::network! {
    /// ResNet-8 with its blocks declared by hand.
    #[input(3, 32, 32)]
    struct ResNet8ByHand {
        conv: Conv2d<3, 16, 3, padding = 1, bias = false>,
        bn: BatchNorm2d<16>,
        act: ReLU,
        stack1: Plain16,
        stack2: Down32,
        stack3: Down64,
        pool: AvgPool2d<8>,
        flat: Flatten,
        fc: Linear<64, 10>,
    }
}

nn::network! {
    struct Plain16 {
        conv1: Conv2d<16, 16, 3, padding = 1, bias = false>,
        bn1: BatchNorm2d<16>,
        conv2: Conv2d<16, 16, 3, padding = 1, bias = false>,
        bn2: BatchNorm2d<16>,
    }
    fn forward(x: Image<16, 32, 32>) -> out {
        let out = relu(self.bn1(self.conv1(x)));
        relu(self.bn2(self.conv2(out)) + x)
    }
}

nn::network! {
    struct Down64 {
        conv1: Conv2d<32, 64, 3, stride = 2, padding = 1, bias = false>,
        bn1: BatchNorm2d<64>,
        conv2: Conv2d<64, 64, 3, padding = 1, bias = false>,
        bn2: BatchNorm2d<64>,
        downsample: Sequential<Conv2d<32, 64, 1, stride = 2, bias = false>, BatchNorm2d<64>>,
    }
    fn forward(x: Image<32, 16, 16>) -> out {
        let out = relu(self.bn1(self.conv1(x)));
        let out = self.bn2(self.conv2(out));
        relu(out + self.downsample(x))
    }
}

/// Every tensor of the state dict, in order, with its name and shape.
fn state<N: Network>(net: &N) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut out = Vec::new();
    net.named_state(&mut |module, name, shape, value| {
        let v = match value {
            nn::Buffer::F32(v) => v.to_vec(),
            nn::Buffer::Count(c) => vec![c as f32],
        };
        out.push((format!("{module}.{name}"), shape.to_vec(), v));
    });
    out
}

fn input(batch: usize) -> Vec<f32> {
    (0..batch * 3 * 32 * 32)
        .map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0)
        .collect()
}

#[test]
fn each_use_is_the_block_declared_by_hand_at_its_sizes() {
    let templated = ResNet8::new(3);
    let by_hand = ResNet8ByHand::new(3);
    // The same layers, names, shapes and initial values, drawn in the same order.
    let (a, b) = (state(&*templated), state(&*by_hand));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((&x.0, &x.1), (&y.0, &y.1));
        assert_eq!(x.2, y.2, "{}", x.0);
    }
    assert_eq!(ResNet8::PARAMS, ResNet8ByHand::PARAMS);
    // The same forward, one sample and a batch, and the same training step.
    let x = input(4);
    let one = templated.forward(x[..3072].try_into().unwrap());
    assert_eq!(one, by_hand.forward(x[..3072].try_into().unwrap()));
    let (mut t1, mut t2) = (Tape::<ResNet8>::new(), Tape::<ResNet8ByHand>::new());
    assert_eq!(t1.infer(&*templated, &x), t2.infer(&*by_hand, &x));
    let (mut templated, mut by_hand) = (templated, by_hand);
    let y1 = t1.forward(&mut *templated, &x).unwrap().to_vec();
    let y2 = t2.forward(&mut *by_hand, &x).unwrap().to_vec();
    assert_eq!(y1, y2);
    let labels = [1usize, 4, 7, 9];
    let ce = nn::loss::CrossEntropyLoss::default();
    assert_eq!(t1.loss(&ce, &labels), t2.loss(&ce, &labels));
    let (mut g1, mut g2) = (nn::Gradients::new(), nn::Gradients::new());
    t1.backward(&*templated, &x, &mut g1);
    t2.backward(&*by_hand, &x, &mut g2);
    assert_eq!(g1.as_slice(), g2.as_slice());
}

#[test]
fn a_forward_written_as_code_uses_templates_too() {
    let code = ResNet8Code::new(3);
    let chain = ResNet8::new(3);
    let keys =
        |n: &[(String, Vec<usize>, Vec<f32>)]| n.iter().map(|t| t.0.clone()).collect::<Vec<_>>();
    assert_eq!(
        keys(&state(&*code)),
        keys(&state(&*chain))
            .into_iter()
            .filter(|k| !k.starts_with("act"))
            .collect::<Vec<_>>()
    );
    let x = input(2);
    let (mut t1, mut t2) = (Tape::<ResNet8Code>::new(), Tape::<ResNet8>::new());
    assert_eq!(t1.infer(&*code, &x), t2.infer(&*chain, &x));
}

#[test]
fn the_summary_names_each_use_by_its_sizes() {
    let s = ResNet8::summary().to_string();
    assert!(s.contains("stack2: Down<32, 2>"), "{s}");
    assert!(s.contains("stack1: Plain<16>"), "{s}");
    assert!(s.contains("[batch, 64, 8, 8]"), "{s}");
    assert!(
        s.contains("conv1: Conv2d<32, 64, 3, stride = 2, padding = 1, bias = false>"),
        "{s}"
    );
}
