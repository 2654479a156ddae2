// The layer after a template's use expects another width than it produces.
nn::network! {
    struct Down<const PLANES: usize, const STRIDE: usize> {
        conv: Conv2d<C, PLANES, 3, stride = STRIDE, padding = 1>,
        skip: Conv2d<C, PLANES, 1, stride = STRIDE>,
    }
    fn forward(x: Image<C, H, W>) -> out {
        relu(self.conv(x) + self.skip(x))
    }
}

nn::network! {
    #[input(3, 16, 16)]
    struct Net { stem: Conv2d<3, 8, 3, padding = 1>, down: Down!<16, 2>, pool: AvgPool2d<8>, flat: Flatten, fc: Linear<32, 2> }
}

fn main() {}
