//! The one error collector of both macros, after serde_derive's `Ctxt`: every phase pushes
//! the errors it finds and goes on, so that one compile shows every mistake.

/// Every error found so far, combined into one with `syn::Error::combine`.
#[derive(Default)]
pub struct Ctxt(Option<syn::Error>);

impl Ctxt {
    /// Adds `e` to the errors found.
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    /// Whether no error was found so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Every error collected, or `Ok` when there was none.
    pub fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
