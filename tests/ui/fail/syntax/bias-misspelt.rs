// `bias` misspelt: answered with the keyword `Conv2d` takes.
nn::network! {
    #[input(3, 8, 8)]
    struct Net<Conv2d<3, 16, 3, padding = 1, bais = false>, ReLU, Flatten, Linear<1024, 10>>
}

fn main() {}
