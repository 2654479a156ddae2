// Doc comments and attributes pass through; any visibility works.
mod models {
    nn::network! {
        /// A tiny classifier.
        #[derive(Clone, Debug, PartialEq)]
        pub(crate) struct Tiny<Linear<4, 3>, Tanh, Linear<3, 2>>;
    }
}

fn main() {
    let a = models::Tiny::new(1);
    let b: models::Tiny = (*a).clone();
    assert_eq!(*a, b);
    println!("{b:?}");
}
