//! Compile-fail and compile-pass cases for `network!` and `#[derive(nn::Parameters)]`; see
//! `tests/ui/README.md`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
