// On a 2 × 2 image, padding 3 cuts away more than the 3 × 3 kernel adds.
nn::network! {
    #[input(8, 2, 2)]
    struct Net<ConvTranspose2d<8, 4, 3, padding = 3>, Flatten, Linear<16, 10>>
}

fn main() {}
