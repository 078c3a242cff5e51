//! One module per subcommand, plus the options they share.

pub mod annotate;
pub mod bench;
pub mod catalogue;
pub mod db;
pub mod digest;
pub mod export;
pub mod filter;
pub mod gcn;
pub mod inspect;
pub mod ledger;
pub mod mine;
pub mod replay;
pub mod run;
pub mod watch;
pub mod web;

use std::path::PathBuf;

use clap::Args;

/// Where wire-format (Confluent-framed) Rubin alerts find their schemas.
#[derive(Args, Clone, Debug, Default)]
pub struct SchemaArgs {
    /// Directory of Rubin `.avsc` schemas (e.g. lsst/alert/packet/schema), searched for
    /// wire-format alerts' schema ids. Also read from SOLAS_SCHEMA_DIR.
    #[arg(long, env = "SOLAS_SCHEMA_DIR")]
    pub schema_dir: Option<PathBuf>,
    /// URL of a Confluent-compatible schema registry (GET /schemas/ids/{id}).
    #[arg(long, env = "SOLAS_SCHEMA_REGISTRY")]
    pub schema_registry: Option<String>,
}

impl SchemaArgs {
    pub fn decoder(&self) -> anyhow::Result<solas_decode::Decoder> {
        Ok(solas_decode::Decoder::configured(
            self.schema_dir.as_deref(),
            self.schema_registry.as_deref(),
        )?)
    }
}
