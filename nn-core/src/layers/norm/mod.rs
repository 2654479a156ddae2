//! Normalisation layers: [`BatchNorm`] over features and [`BatchNorm2d`] over image
//! channels, and [`LayerNorm`].

mod batch;
mod batch2d;
mod layer;

pub use batch::BatchNorm;
pub use batch2d::BatchNorm2d;
pub use layer::LayerNorm;
