//! The classifiers' one integration-test binary: Solas's models against their authors'
//! answers on the shared real alerts.

mod fink_parity;
mod forest_live;
mod minuit_live;
mod rainbow_parity;
mod registry;
mod snia_parity;
mod snn_parity;
mod trf_live;
