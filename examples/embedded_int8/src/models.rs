//! The networks, baked at compile time. The int8 ones by `#[weights(.., dtype = int8)]` from
//! the int8 files the host writes (the compiler checks every tensor's dtype, shape, scale
//! count and zero point against the declaration and prepares the multipliers, shifts and
//! zero-point sums); the f32 ones by `#[weights]`, on the Cortex-M4F only.

nn::network! {
    /// The MNIST MLP in int8: `cargo run --release --example mnist_int8 -- --save` quantised
    /// the trained f32 network per channel, calibrated on 1,000 training images.
    #[weights("../../data/weights/mnist_int8.safetensors", dtype = int8)]
    pub struct MnistInt8<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

nn::network! {
    /// `examples/cnn.rs`'s network in int8, from the same example.
    #[input(1, 28, 28)]
    #[weights("../../data/weights/cnn_int8.safetensors", dtype = int8)]
    pub struct CnnInt8<
        Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>,
        Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>,
        Flatten, Linear<400, 10>,
    >
}

nn::network! {
    /// MLPerf Tiny's keyword-spotting DS-CNN in int8 (`examples/mlperf/models.rs`'s
    /// declaration): `cargo run --release --example mlperf_int8 -- --save` trained it briefly
    /// on twelve synthetic classes and quantised it, every `BatchNorm2d` folded.
    #[input(1, 49, 10)]
    #[weights("../../data/weights/ds_cnn_int8.safetensors", dtype = int8)]
    pub struct DsCnnInt8<
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

pub static MLP: MnistInt8 = MnistInt8::WEIGHTS;
pub static CNN: CnnInt8 = CnnInt8::WEIGHTS;
pub static DS_CNN: DsCnnInt8 = DsCnnInt8::WEIGHTS;

/// The pixel → int8 input table of a network taking MNIST images scaled as `nn::data`
/// scales them (`pixel / 255`), made by the compiler with the host's own `Quant::quantize`.
pub const fn pixels(quant: nn::int8::Quant) -> [i8; 256] {
    let mut table = [0i8; 256];
    let mut p = 0;
    while p < 256 {
        table[p] = quant.quantize(p as f32 / 255.0);
        p += 1;
    }
    table
}

pub static MLP_PIXELS: [i8; 256] = pixels(MnistInt8::INPUT);
pub static CNN_PIXELS: [i8; 256] = pixels(CnnInt8::INPUT);

#[cfg(not(cortex_m0))]
pub use seeded::*;

/// MLPerf Tiny's MobileNetV1 0.25, ResNet-8 and anomaly autoencoder in int8, with weights
/// drawn from their seeds (`examples/mlperf/seeded.rs`) and quantised on seeded inputs by `cargo run
/// --release --example embedded_int8_host` into `generated/` (not in the repository;
/// `run.sh` runs the host first). On the Cortex-M4F only: their 220, 78 and 270 KB of
/// weights do not fit the Cortex-M0's flash beside the others, and ResNet-8's 64 KB of
/// activations not its 32 KB of RAM.
#[cfg(not(cortex_m0))]
mod seeded {
    nn::network! {
        /// Visual wake words, MobileNetV1 at width 0.25 (`examples/mlperf/models.rs`).
        #[input(3, 96, 96)]
        #[weights("generated/mobilenet_v1_int8.safetensors", dtype = int8)]
        pub struct MobileNetInt8<
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
        /// Anomaly detection, the autoencoder of 640 log-mel features
        /// (`examples/mlperf/models.rs`).
        #[weights("generated/autoencoder_int8.safetensors", dtype = int8)]
        pub struct AutoEncoderInt8<
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
        /// ResNet-8's stack with an identity shortcut (`examples/mlperf/models.rs`), a
        /// template: the int8 network below bakes its layers at each use.
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
        /// ResNet-8's stack that changes size, its shortcut a 1 × 1 projection.
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
        /// Image classification, ResNet-8 (`examples/mlperf/models.rs`): its forward written
        /// as code, its three stacks declared from the templates above, their residual adds
        /// TFLite's ADD.
        #[weights("generated/resnet8_int8.safetensors", dtype = int8)]
        pub struct ResNet8Int8 {
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
    }

    pub static MOBILENET: MobileNetInt8 = MobileNetInt8::WEIGHTS;
    pub static RESNET8: ResNet8Int8 = ResNet8Int8::WEIGHTS;
    pub static AUTOENCODER: AutoEncoderInt8 = AutoEncoderInt8::WEIGHTS;
}

#[cfg(not(cortex_m0))]
pub use f32_models::*;

/// The f32 forms, for their figures beside the int8 ones; not on the Cortex-M0 (`main.rs`
/// says why).
#[cfg(not(cortex_m0))]
mod f32_models {
    nn::network! {
        /// The MNIST MLP as trained (`cargo run --release --example mnist -- --save`).
        #[weights("../../data/weights/mnist.safetensors")]
        pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
    }

    nn::network! {
        /// `examples/cnn.rs`'s network as trained (`cargo run --release --example cnn --
        /// --save`).
        #[weights("../../data/weights/cnn.safetensors")]
        #[input(1, 28, 28)]
        pub struct Cnn<
            Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>,
            Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>,
            Flatten, Linear<400, 10>,
        >
    }

    nn::network! {
        /// The DS-CNN in f32, `examples/embedded`'s (`cargo run --release --example mlperf --
        /// kws --save`): other weights than the int8 file's, the same layers and arithmetic.
        #[weights("../../data/weights/ds_cnn.safetensors")]
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

    pub static MLP_F32: Mnist = Mnist::WEIGHTS;
    pub static CNN_F32: Cnn = Cnn::WEIGHTS;
    pub static DS_CNN_F32: DsCnn = DsCnn::WEIGHTS;
}
