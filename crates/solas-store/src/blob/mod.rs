//! Cutout blob stores.

mod pack;

pub use pack::PackBlobStore;
