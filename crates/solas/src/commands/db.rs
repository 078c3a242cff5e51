//! `solas db migrate`: create or bring up to date every table Solas keeps in its databases
//! (the main database with the users, quota ledger and email queue beside it; the
//! lightcurves), before the workers start. Every process also does this when it connects,
//! but an operator granting a role access to the tables needs them to exist first.

use anyhow::Context;
use clap::{Args, Subcommand};
use solas_store::db::Target;

use super::filter::DataArg;

#[derive(Args, Debug)]
pub struct DbArgs {
    #[command(subcommand)]
    pub action: DbAction,
}

#[derive(Subcommand, Debug)]
pub enum DbAction {
    /// Create or update the schema of the main database and the lightcurves (safe to run
    /// again, and while workers run: each change is applied once, under a lock).
    Migrate {
        #[command(flatten)]
        data: DataArg,
        /// The lightcurves in PostgreSQL, as the ingest workers are given them (default:
        /// <data>/lightcurves.db).
        #[arg(long, env = "SOLAS_LIGHTCURVES_DB")]
        lightcurves_db: Option<String>,
    },
}

pub fn db(args: DbArgs) -> anyhow::Result<()> {
    match args.action {
        DbAction::Migrate {
            data,
            lightcurves_db,
        } => {
            let main = data.main_target();
            if let Target::Sqlite(path) = &main {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
            }
            let context = || format!("migrating the main database {main}");
            solas_store::main_db::connect(&main).with_context(context)?;
            solas_delivery::DbLedger::new(solas_store::main_db::connect(&main)?)
                .with_context(context)?;
            solas_delivery::EmailQueue::new(
                solas_store::main_db::connect(&main)?,
                solas_delivery::SmtpConfig::new("localhost", 25, "", ""),
            )
            .with_context(context)?;
            let users = solas_web::users::users_target(&data.data, data.main_db_target().as_ref());
            solas_web::users::UserStore::connect(&users)
                .with_context(|| format!("migrating the users database {users}"))?;
            println!("main database {main}: up to date");
            if users != main {
                println!("users database {users}: up to date");
            }
            match &lightcurves_db {
                Some(url) => {
                    let sqlite = data.data.join("lightcurves.db");
                    solas_store::open_lightcurves(Some(url), &sqlite)
                        .context("migrating the lightcurves")?;
                    println!("lightcurves {}: up to date", Target::Postgres(url.clone()));
                }
                None => {
                    let path = data.data.join("lightcurves.db");
                    solas_store::sqlite::SqliteLightcurves::open(&path)
                        .with_context(|| format!("migrating {}", path.display()))?;
                    println!("lightcurves {}: up to date", path.display());
                }
            }
            Ok(())
        }
    }
}
