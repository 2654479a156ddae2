//! MLPerf Tiny's four reference models, declared as the benchmark defines them
//! (mlcommons/tiny, `benchmark/training/*/keras_model.py`), with PyTorch's names: the ports in
//! `tools/mlperf_models.py` hold the same state dicts. Shared by `examples/mlperf.rs` and
//! `tests/parity_mlperf.rs`.
//!
//! TensorFlow's `padding='same'` is `padding = same` here: at stride 2 on an even side it
//! pads the odd row or column at the end, as every TFLite model of these does. The
//! reference's dropout layers, the identity at inference, are left out so that a training
//! step matches PyTorch's bit for bit in the fixtures.

nn::network! {
    /// Keyword spotting, DS-CNN: a 1 × 49 × 10 MFCC image, a 10 × 4 stride-2 convolution
    /// to 64 channels, four depthwise-separable blocks, an average pool over 25 × 5 and
    /// 12 classes.
    #[input(1, 49, 10)]
    pub struct DsCnn<
        Conv2d<1, 64, (10, 4), stride = 2, padding = same>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 3, padding = same, groups = 64>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 1>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 3, padding = same, groups = 64>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 1>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 3, padding = same, groups = 64>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 1>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 3, padding = same, groups = 64>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 1>, BatchNorm2d<64>, ReLU,
        AvgPool2d<(25, 5)>, Flatten, Linear<64, 12>,
    >
}

nn::network! {
    /// Visual wake words, MobileNetV1 at width 0.25: a 3 × 96 × 96 image, a 3 × 3 stride-2
    /// convolution to 8 channels, 13 depthwise-separable blocks, the global average pool and
    /// 2 classes.
    #[input(3, 96, 96)]
    pub struct MobileNetV1<
        Conv2d<3, 8, 3, stride = 2, padding = same>, BatchNorm2d<8>, ReLU,
        Conv2d<8, 8, 3, padding = same, groups = 8>, BatchNorm2d<8>, ReLU,
        Conv2d<8, 16, 1>, BatchNorm2d<16>, ReLU,
        Conv2d<16, 16, 3, stride = 2, padding = same, groups = 16>, BatchNorm2d<16>, ReLU,
        Conv2d<16, 32, 1>, BatchNorm2d<32>, ReLU,
        Conv2d<32, 32, 3, padding = same, groups = 32>, BatchNorm2d<32>, ReLU,
        Conv2d<32, 32, 1>, BatchNorm2d<32>, ReLU,
        Conv2d<32, 32, 3, stride = 2, padding = same, groups = 32>, BatchNorm2d<32>, ReLU,
        Conv2d<32, 64, 1>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 3, padding = same, groups = 64>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 1>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 3, stride = 2, padding = same, groups = 64>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 128, 1>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 3, padding = same, groups = 128>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 1>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 3, padding = same, groups = 128>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 1>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 3, padding = same, groups = 128>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 1>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 3, padding = same, groups = 128>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 1>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 3, padding = same, groups = 128>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 1>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 3, stride = 2, padding = same, groups = 128>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 256, 1>, BatchNorm2d<256>, ReLU,
        Conv2d<256, 256, 3, padding = same, groups = 256>, BatchNorm2d<256>, ReLU,
        Conv2d<256, 256, 1>, BatchNorm2d<256>, ReLU,
        AdaptiveAvgPool2d<1>, Flatten, Linear<256, 2>,
    >
}

nn::network! {
    /// Anomaly detection, the autoencoder of 640 log-mel features: four layers of 128 down
    /// to 8 and four of 128 back up, each with BatchNorm1d and ReLU, then 640.
    pub struct AutoEncoder<
        Linear<640, 128>, BatchNorm<128>, ReLU,
        Linear<128, 128>, BatchNorm<128>, ReLU,
        Linear<128, 128>, BatchNorm<128>, ReLU,
        Linear<128, 128>, BatchNorm<128>, ReLU,
        Linear<128, 8>, BatchNorm<8>, ReLU,
        Linear<8, 128>, BatchNorm<128>, ReLU,
        Linear<128, 128>, BatchNorm<128>, ReLU,
        Linear<128, 128>, BatchNorm<128>, ReLU,
        Linear<128, 128>, BatchNorm<128>, ReLU,
        Linear<128, 640>,
    >
}

nn::network! {
    /// ResNet-8's stack with an identity shortcut, declared once for any image
    /// (`Image<C, H, W>` comes from what flows into it): two 3 × 3 convolutions at `PLANES`
    /// channels, added to the input. A template, used as `Stack!<16>`.
    pub struct Stack<const PLANES: usize> {
        conv1: Conv2d<C, PLANES, 3, padding = same>,
        bn1: BatchNorm2d<PLANES>,
        conv2: Conv2d<PLANES, PLANES, 3, padding = same>,
        bn2: BatchNorm2d<PLANES>,
    }
    fn forward(x: Image<C, H, W>) -> out {
        let y = relu(self.bn1(self.conv1(x)));
        let y = self.bn2(self.conv2(y));
        relu(x + y)
    }
}

nn::network! {
    /// ResNet-8's stack that changes size, declared once: down by a `STRIDE` convolution to
    /// `PLANES` channels, the shortcut a 1 × 1 projection at the same stride (without batch
    /// norm, as the reference's). A template, used as `DownStack!<32, 2>` and
    /// `DownStack!<64, 2>`.
    pub struct DownStack<const PLANES: usize, const STRIDE: usize> {
        conv1: Conv2d<C, PLANES, 3, stride = STRIDE, padding = same>,
        bn1: BatchNorm2d<PLANES>,
        conv2: Conv2d<PLANES, PLANES, 3, padding = same>,
        bn2: BatchNorm2d<PLANES>,
        shortcut: Conv2d<C, PLANES, 1, stride = STRIDE>,
    }
    fn forward(x: Image<C, H, W>) -> out {
        let y = relu(self.bn1(self.conv1(x)));
        let y = self.bn2(self.conv2(y));
        relu(self.shortcut(x) + y)
    }
}

nn::network! {
    /// Image classification, ResNet-8 on CIFAR-10: a 3 × 32 × 32 image, a 3 × 3 convolution
    /// to 16 channels, three stacks (the templates above at 16, 32 and 64 channels), an
    /// average pool over 8 × 8 and 10 classes.
    pub struct ResNet8 {
        conv1: Conv2d<3, 16, 3, padding = same>,
        bn1: BatchNorm2d<16>,
        stack1: Stack!<16>,
        stack2: DownStack!<32, 2>,
        stack3: DownStack!<64, 2>,
        pool: AvgPool2d<8>,
        fc: Linear<64, 10>,
    }
    fn forward(x: Image<3, 32, 32>) -> out {
        let x = relu(self.bn1(self.conv1(x)));
        let x = self.stack3(self.stack2(self.stack1(x)));
        self.fc(flatten(self.pool(x)))
    }
    fn loss(target: Features<10>) {
        mse_loss(out, target)
    }
}
