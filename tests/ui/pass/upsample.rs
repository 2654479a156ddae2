// `Upsample<2>` doubles an image's sides: the layers after it see 2 × 6 × 8.
nn::network! {
    #[input(2, 3, 4)]
    pub struct Up<Upsample<2>, Conv2d<2, 1, 3, padding = 1>, Flatten, Linear<48, 2>>
}

fn main() {
    let net = Up::new(0);
    let _: [f32; 2] = net.forward(&[0.5; 24]);
    assert!(Up::summary().to_string().contains("[batch, 2, 6, 8]"));
}
