//! The web crate's integration tests, one binary (one link) for all: the REST API
//! (`api`), pages in a real browser (`browser`) and the unchanged `lasair` Python client
//! (`lasair_client`).

mod common;

mod api;
mod browser;
mod lasair_client;
