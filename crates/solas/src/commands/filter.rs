//! `solas filter`: user filters. For now `check`, which parses a filter, checks it against
//! the whitelist and prints the SQL Solas would run; storing and running filters come with
//! the filter stage.

use clap::{Args, Subcommand, ValueEnum};
use solas_query::{check, Dialect, FilterSpec, QueryError, Resources, Survey};

#[derive(Args, Debug)]
pub struct FilterArgs {
    #[command(subcommand)]
    pub action: FilterAction,
}

#[derive(Subcommand, Debug)]
pub enum FilterAction {
    /// Check a filter: exit 0 and print the rendered SQL if it is accepted, else print the
    /// error (naming the offending token and its position) and exit 1.
    Check {
        /// The SELECT list, e.g. "objects.diaObjectId, objects.latest_psfFlux".
        #[arg(long, allow_hyphen_values = true)]
        selected: String,
        /// Tables: objects, sherlock_classifications, watchlist:N, watchmap:N, annotator:TOPIC, crossmatch_tns.
        #[arg(long, default_value = "objects")]
        tables: String,
        /// The WHERE clause, optionally followed by ORDER BY.
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        conditions: String,
        /// Which survey's objects table the filter reads.
        #[arg(long, value_enum, default_value_t = SurveyArg::Lsst)]
        survey: SurveyArg,
        /// SQL dialect to print.
        #[arg(long, value_enum, default_value_t = DialectArg::Sqlite)]
        dialect: DialectArg,
        /// Row limit (bound as a parameter).
        #[arg(long, default_value_t = 1000)]
        limit: u64,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SurveyArg {
    Lsst,
    Ztf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DialectArg {
    Sqlite,
    Postgres,
}

/// No users, watchlists, watchmaps or annotators exist yet: every one named is refused.
struct NoResources;

impl Resources for NoResources {
    fn watchlist_allowed(&self, _: i64, _: Option<i64>) -> Result<bool, QueryError> {
        Ok(false)
    }
    fn watchmap_allowed(&self, _: i64, _: Option<i64>) -> Result<bool, QueryError> {
        Ok(false)
    }
    fn annotator_exists(&self, _: &str) -> Result<bool, QueryError> {
        Ok(false)
    }
}

pub fn filter(args: FilterArgs) -> anyhow::Result<()> {
    match args.action {
        FilterAction::Check {
            selected,
            tables,
            conditions,
            survey,
            dialect,
            limit,
        } => {
            let spec = FilterSpec {
                selected,
                tables,
                conditions,
            };
            let survey = match survey {
                SurveyArg::Lsst => Survey::Lsst,
                SurveyArg::Ztf => Survey::Ztf,
            };
            let checked = check(&spec, survey, None, &NoResources)
                .map_err(|e| anyhow::anyhow!("filter refused: {e}"))?;
            let dialect = match dialect {
                DialectArg::Sqlite => Dialect::Sqlite,
                DialectArg::Postgres => Dialect::Postgres,
            };
            let rendered = checked.render(dialect, Some(limit), None);
            println!("{}", rendered.sql);
            println!("-- parameters: {:?}", rendered.params);
            println!("-- columns: {}", checked.columns().join(", "));
            Ok(())
        }
    }
}
