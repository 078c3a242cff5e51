//! `solas serve` (the REST API the `lasair` client talks to) and `solas user` (accounts and
//! API tokens, kept hashed in `<data>/users.db`).

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
    let mut config = solas_web::ServeConfig::new(&args.data.data, args.bind);
    config.catalogue_dir = args.catalogues.clone();
    config.query_time_limit = std::time::Duration::from_secs_f64(args.query_time_limit);
    Ok(config)
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // The databases must exist before the server opens them read-only.
    solas_store::main_db::MainDatabase::open(&args.data.data.join("solas.db"))?;
    solas_store::sqlite::SqliteLightcurves::open(&args.data.data.join("lightcurves.db"))?;
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
                solas_web::add_user(&data.data, &username, &email, password.as_deref(), class)?;
            println!("user {id} ({username}, {class}); token {token}");
        }
        UserAction::Token { username, data } => {
            println!("{}", solas_web::new_token(&data.data, &username)?);
        }
        UserAction::List { data } => {
            for u in solas_web::list_users(&data.data)? {
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
