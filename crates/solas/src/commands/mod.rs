//! One module per subcommand, plus the options they share.

pub mod bench;
pub mod catalogue;
pub mod filter;
pub mod inspect;
pub mod run;

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
        Ok(match (&self.schema_dir, &self.schema_registry) {
            (Some(dir), _) => solas_decode::Decoder::with_registry(Box::new(
                solas_decode::DirRegistry::open(dir)?,
            )),
            (None, Some(url)) => {
                solas_decode::Decoder::with_registry(Box::new(solas_decode::HttpRegistry::new(url)))
            }
            (None, None) => solas_decode::Decoder::new(),
        })
    }
}
