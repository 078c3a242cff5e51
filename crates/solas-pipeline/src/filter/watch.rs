//! Watchlist, watchmap, TNS and GW-event matching of the filter stage: the matcher lives
//! with the tables it reads and writes, in `solas_store::main_db::watch_matcher`.

pub use solas_store::main_db::watch_matcher::*;
