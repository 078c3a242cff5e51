//! Cutout blob stores.

mod dir;

pub use dir::DirBlobStore;
