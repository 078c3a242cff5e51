//! `solas digest`: send each email filter's daily digest (once per UTC day) through an SMTP
//! relay. Rows are queued by the filter stage as they match; run this from cron once a day.
//! A filter whose digest fails keeps its rows queued for the next run.

use clap::Args;
use solas_delivery::{EmailQueue, SmtpConfig};

use super::filter::DataArg;

#[derive(Args, Debug)]
pub struct DigestArgs {
    /// SMTP relay, HOST:PORT (plain SMTP; the relay does TLS onward).
    #[arg(long, default_value = "localhost:25")]
    pub smtp: String,
    /// The From: address.
    #[arg(long, default_value = "Solas <solas@localhost>")]
    pub from: String,
    /// The web site object links point at.
    #[arg(long, default_value = "http://localhost:8080")]
    pub base_url: String,
    #[command(flatten)]
    pub data: DataArg,
}

pub fn digest(args: DigestArgs) -> anyhow::Result<()> {
    let (host, port) = args
        .smtp
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("--smtp must be HOST:PORT, not {:?}", args.smtp))?;
    let db = args.data.main_target();
    let mut filters = solas_store::main_db::filters::FilterStore::connect(&db)?;
    let targets: Vec<_> = filters
        .list()?
        .iter()
        .filter(|f| f.output == "email")
        .filter_map(|f| solas_pipeline::delivery::target(f).ok())
        .collect();
    let mut queue = EmailQueue::new(
        solas_store::main_db::connect(&db)?,
        SmtpConfig::new(host, port, &args.from, &args.base_url),
    )?;
    let mut failed = 0;
    for outcome in queue.send_digests(&targets, std::time::SystemTime::now()) {
        match outcome.result {
            Ok(0) => {}
            Ok(n) => println!("filter {}: digest of {n} row(s) sent", outcome.filter_id),
            Err(e) => {
                failed += 1;
                eprintln!("filter {}: {e}", outcome.filter_id);
                if let Some(f) = filters.get(outcome.filter_id)? {
                    filters.report(&f, "delivery", &e.to_string())?;
                }
            }
        }
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} digest(s) not sent; their rows stay queued"
    );
    Ok(())
}
