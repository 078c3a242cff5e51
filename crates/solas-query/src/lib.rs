//! Solas's user filter language: Lasair's three-part filters (`selected`, `tables`,
//! `conditions`), made safe by construction. Lasair guards user SQL with a keyword
//! blacklist that can be bypassed; here the text is tokenised and parsed into a syntax
//! tree (sqlparser, MySQL dialect, since Lasair users write MySQL), every node is checked
//! against a whitelist of tables, columns, operators and functions and rebuilt as Solas's
//! own tree, and SQL for SQLite or PostgreSQL is rendered from that tree, with strings and
//! the row limit as bound parameters. User text is never pasted into SQL.
//!
//! Modules: `spec` (inputs and caps), `lex` (raw-text and token screening), `tables`
//! (the `tables` string), `schema` (the column whitelist and physical tables), `check`
//! (parsing and the whitelist walk), `render` (SQL output), `error`. It touches no database:
//! running the SQL and answering [`Resources`] from the main database are the store's
//! (`solas_store::main_db::filter_runs`, `filter_resources`).
//!
//! ```
//! use solas_query::*;
//! let spec = FilterSpec {
//!     selected: "objects.diaObjectId, objects.g_psfFlux".into(),
//!     tables: "objects, sherlock_classifications".into(),
//!     conditions: r#"sherlock_classifications.classification = "SN" ORDER BY objects.g_psfFlux DESC"#.into(),
//! };
//! let q = check(&spec, Survey::Lsst, None, &NoResources).unwrap();
//! let r = q.render(Dialect::Sqlite, Some(100), None);
//! assert_eq!(r.params, vec![Param::Text("SN".into()), Param::Int(100)]);
//! assert_eq!(q.columns(), vec!["diaObjectId", "g_psfFlux"]);
//! ```

mod check;
mod error;
mod lex;
mod render;
pub mod schema;
mod spec;

mod tables;

pub use check::{check, CheckedQuery};
pub use error::{Part, QueryError};
pub use render::{Dialect, Param, Rendered};
pub use spec::{
    FilterSpec, NoResources, Resources, Survey, MAX_JOINED, MAX_PART_CHARS, MAX_RENDERED_BYTES,
    MAX_TREE_DEPTH, PARSER_RECURSION_LIMIT,
};
