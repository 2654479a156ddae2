// `#[input]` takes channels, height and width (or channels and length).
nn::network! {
    #[input(28)]
    struct Net<Conv2d<1, 8, 3>, Flatten, Linear<5408, 10>>
}

fn main() {}
