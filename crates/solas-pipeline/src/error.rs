//! How a run fails: which part failed, with its error as the source.

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("source: {0}")]
    Source(#[from] crate::source::SourceError),
    #[error("storage: {0}")]
    Store(#[from] solas_store::StoreError),
    #[error("schemas: {0}")]
    Decode(#[from] solas_decode::DecodeError),
    #[error("dust map: {0}")]
    Dust(#[from] solas_features::DustError),
    #[error("catalogues: {0}")]
    Catalogue(#[from] solas_catalogue::CatalogueError),
    #[error("user filters: {0}")]
    Filters(#[from] crate::filter::user_filters::EngineError),
    #[error("delivery: {0}")]
    Delivery(#[from] solas_delivery::DeliveryError),
    #[cfg(feature = "kafka")]
    #[error("publishing: {0}")]
    Publish(#[from] crate::publish::PublishError),
    #[error("a stage thread panicked: {0}")]
    Panic(String),
    /// Stopped while a store was unavailable: the waiting stage's source messages were
    /// neither stored nor acknowledged (nor anything queued behind them); a Kafka source
    /// reads them again, files must be run again.
    #[error("stopped during an outage: {0} source messages (and any queued behind them) were left unfinished and unacknowledged, to be read again (nothing was rejected or committed for them)")]
    Outage(u64),
}

/// A stage that cannot fail (it sets bad input aside and waits out outages).
impl From<std::convert::Infallible> for RunError {
    fn from(never: std::convert::Infallible) -> RunError {
        match never {}
    }
}
