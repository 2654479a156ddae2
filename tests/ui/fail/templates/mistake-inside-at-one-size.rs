// A template whose shortcut keeps the stride out: the sum fails where the stride is 2.
nn::network! {
    struct Down<const PLANES: usize, const STRIDE: usize> {
        conv: Conv2d<C, PLANES, 3, stride = STRIDE, padding = 1>,
        skip: Conv2d<C, PLANES, 1>,
    }
    fn forward(x: Image<C, H, W>) -> out {
        relu(self.conv(x) + self.skip(x))
    }
}

nn::network! {
    #[input(3, 16, 16)]
    struct Net { stem: Conv2d<3, 8, 3, padding = 1>, same: Down!<8, 1>, down: Down!<16, 2> }
}

fn main() {}
