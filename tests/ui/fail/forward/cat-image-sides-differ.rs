// A skip joined to an image of other sides: the upsampling was forgotten.
nn::network! {
    struct Level { enc: Conv2d<3, 8, 3, padding = 1>, pool: MaxPool2d<2>, mid: Conv2d<8, 16, 3, padding = 1>, dec: Conv2d<24, 8, 3, padding = 1> }
    fn forward(x: Image<3, 16, 16>) -> out {
        let e = relu(self.enc(x));
        let m = relu(self.mid(self.pool(e)));
        self.dec(cat([m, e]))
    }
}

fn main() {}
