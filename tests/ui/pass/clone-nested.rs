// `#[derive(Clone)]` on the outer network alone: the nested networks are `Clone` as their
// layers are, with no derive of their own.
nn::network! { pub struct Enc<Linear<4, 3>, ReLU> }
nn::network! { pub struct Dec<Linear<3, 4>> }
nn::network! {
    #[derive(Clone)]
    pub struct AutoEnc { enc: Enc, dec: Dec }
}

fn main() {
    let net = AutoEnc::new(0);
    let copy = net.clone_boxed();
    assert_eq!(net.forward(&[1.0; 4]), copy.forward(&[1.0; 4]));
    let inner: Enc = net.enc.clone();
    let _ = inner;
}
