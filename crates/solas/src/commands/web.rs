//! `solas serve` (the REST API the `lasair` client talks to) and `solas user` (accounts and
//! API tokens, kept hashed in `<data>/users.db` or the PostgreSQL main database).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::filter::DataArg;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Catalogue store for /api/sherlock/position/ (default <data>/catalogues).
    #[arg(long, env = "SOLAS_CATALOGUES")]
    pub catalogues: Option<PathBuf>,
    /// Seconds a /api/query/ may run.
    #[arg(long, default_value_t = 60.0)]
    pub query_time_limit: f64,
    /// With --main-db on PostgreSQL: the read-only role /api/query/ runs as (default: the
    /// --main-db one; see docs/operations.md).
    #[arg(long, env = "SOLAS_FILTER_DB")]
    pub filter_db: Option<String>,
    /// The lightcurve store in PostgreSQL, as the ingest workers were given it.
    #[arg(long, env = "SOLAS_LIGHTCURVES_DB")]
    pub lightcurves_db: Option<String>,
    /// Cutouts in an S3-compatible store, `s3://bucket[/prefix]`, as the ingest workers
    /// were given it (endpoint and keys from AWS_ENDPOINT, AWS_ACCESS_KEY_ID, …).
    #[arg(long, env = "SOLAS_CUTOUTS")]
    pub cutouts: Option<String>,
    /// The site's public URL (e.g. https://solas.example.org): the base of the cutout links
    /// in /api/object/ answers (default: the address the client connected to), and with
    /// https the session cookie is marked Secure.
    #[arg(long, env = "SOLAS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The Kafka bootstrap address (host:port) users' consumers read filter topics from,
    /// shown in the filter pages' consumer snippets.
    #[arg(long, env = "SOLAS_PUBLIC_KAFKA")]
    pub public_kafka: Option<String>,
    /// Hosts users' filters may post webhooks to when made on the site (comma-separated,
    /// e.g. hooks.slack.com); https only. Without it, webhook filters are made with
    /// `solas filter add --webhook`.
    #[arg(long, env = "SOLAS_WEBHOOK_HOSTS", value_delimiter = ',')]
    pub webhook_hosts: Vec<String>,
    /// The SFD dust maps (as `solas run --dust-dir`), for E(B−V) on object pages whose
    /// objects row has none, ZTF's among them.
    #[arg(long, env = "SOLAS_DUST_DIR")]
    pub dust_dir: Option<PathBuf>,
    /// Connections served at once; more wait until one ends.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    #[command(flatten)]
    pub data: DataArg,
}

#[derive(Args, Debug)]
pub struct UserArgs {
    #[command(subcommand)]
    pub action: UserAction,
}

#[derive(Subcommand, Debug)]
pub enum UserAction {
    /// Create a user and print their first API token.
    Add {
        username: String,
        #[arg(long, default_value = "")]
        email: String,
        /// For /api/auth-token/ (the token is enough for the API).
        #[arg(long)]
        password: Option<String>,
        /// dummy, user or power (rate limits 10, 100, 10,000 requests an hour).
        #[arg(long, default_value = "user")]
        class: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// Issue a new token for a user.
    Token {
        username: String,
        #[command(flatten)]
        data: DataArg,
    },
    List {
        #[command(flatten)]
        data: DataArg,
    },
}

pub fn config(args: &ServeArgs) -> anyhow::Result<solas_web::ServeConfig> {
    anyhow::ensure!(
        args.query_time_limit.is_finite() && args.query_time_limit > 0.0,
        "--query-time-limit must be positive"
    );
    if let Some(url) = &args.public_url {
        let lower = url.to_ascii_lowercase();
        anyhow::ensure!(
            lower.starts_with("http://") || lower.starts_with("https://"),
            "--public-url must start with http:// or https://, not {url:?}"
        );
    }
    anyhow::ensure!(
        args.max_connections > 0,
        "--max-connections must be positive"
    );
    let mut config = solas_web::ServeConfig::new(&args.data.data, args.bind);
    config.public_url = args.public_url.clone();
    config.public_kafka = args.public_kafka.clone();
    config.dust_dir = args.dust_dir.clone();
    config.webhook_hosts = args
        .webhook_hosts
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    config.limits.max_connections = args.max_connections;
    config.catalogue_dir = args.catalogues.clone();
    config.query_time_limit = std::time::Duration::from_secs_f64(args.query_time_limit);
    config.main_db = args
        .data
        .main_db
        .as_deref()
        .map(solas_store::db::Target::parse);
    config.lightcurves_url = args.lightcurves_db.clone();
    config.filter_db_url = args.filter_db.clone();
    config.cutouts_url = args.cutouts.clone();
    Ok(config)
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let server = solas_web::spawn(config(&args)?)?;
    eprintln!("serving the API on http://{}/api/", server.local_addr());
    server.join()?;
    Ok(())
}

pub fn user(args: UserArgs) -> anyhow::Result<()> {
    match args.action {
        UserAction::Add {
            username,
            email,
            password,
            class,
            data,
        } => {
            let class: solas_web::UserClass =
                class.parse().map_err(|e| anyhow::anyhow!("--class: {e}"))?;
            let (id, token) =
                users(&data)?.add_user(&username, &email, password.as_deref(), class)?;
            println!("user {id} ({username}, {class}); token {token}");
        }
        UserAction::Token { username, data } => {
            let mut store = users(&data)?;
            let user = store
                .user(&username)?
                .ok_or_else(|| anyhow::anyhow!("no user named {username:?}"))?;
            println!("{}", store.issue_token(user.id)?);
        }
        UserAction::List { data } => {
            for u in users(&data)?.users()? {
                println!(
                    "{:>4}  {:<20} {:<6} {:<8} {}",
                    u.id,
                    u.username,
                    u.class,
                    if u.active { "active" } else { "inactive" },
                    u.email
                );
            }
        }
    }
    Ok(())
}

/// The users of a data directory, or of the PostgreSQL main database when given.
fn users(data: &DataArg) -> anyhow::Result<solas_web::UserStore> {
    let main = data.main_db.as_deref().map(solas_store::db::Target::parse);
    Ok(solas_web::UserStore::connect(&solas_web::users_target(
        &data.data,
        main.as_ref(),
    ))?)
}
