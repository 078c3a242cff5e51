//! Rendering a checked tree to SQL for SQLite or PostgreSQL. Everything written here
//! comes from Solas: identifiers are the whitelist's canonical names, always
//! double-quoted (Lasair's camelCase names need it on PostgreSQL); output columns are
//! aliased `c0, c1, …` (names are in [`CheckedQuery::columns`]); numbers are the
//! validated literal text; every string the user wrote, the annotator topics and the row
//! limit are bound parameters. Every composite expression is parenthesised, so user
//! precedence can never leak into Solas's join conditions, and no two `-` are adjacent.
//!
//! Division, logarithms, square roots and inverse trigonometry are guarded so that a bad
//! row gives NULL (as in MySQL and SQLite) instead of aborting the query on PostgreSQL.

use crate::check::{BinOp, CheckedQuery, Func, Join, Node};
use crate::schema::{object_key, physical_table, TableKind};

/// The SQL flavour to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A bound parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(i64),
    Text(String),
}

/// SQL text and its parameters, numbered `?1, ?2, …` (SQLite) or `$1, $2, …` (PostgreSQL)
/// in the order of `params`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub sql: String,
    pub params: Vec<Param>,
}

struct W {
    d: Dialect,
    sql: String,
    params: Vec<Param>,
}

/// An identifier, double-quoted with quotes doubled (only Solas's names reach here, and
/// the operator-supplied batch table name).
fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl W {
    fn s(&mut self, text: &str) {
        self.sql.push_str(text);
    }

    fn param(&mut self, p: Param) {
        self.params.push(p);
        let n = self.params.len();
        match self.d {
            Dialect::Sqlite => self.sql.push_str(&format!("?{n}")),
            Dialect::Postgres => self.sql.push_str(&format!("${n}")),
        }
    }

    fn float(&self) -> &'static str {
        match self.d {
            Dialect::Sqlite => "REAL",
            Dialect::Postgres => "DOUBLE PRECISION",
        }
    }

    fn node(&mut self, cq: &CheckedQuery, n: &Node) {
        stacker::maybe_grow(
            crate::spec::STACK_RED_ZONE,
            crate::spec::STACK_GROWTH,
            || self.node_at(cq, n),
        )
    }

    fn node_at(&mut self, cq: &CheckedQuery, n: &Node) {
        match n {
            Node::Col(src, col) => {
                let alias = q(&cq.sources[*src].alias);
                self.s(&format!("{alias}.{}", q(col)));
            }
            Node::Num(s) => self.s(s),
            Node::Str(s) => self.param(Param::Text(s.clone())),
            Node::Null => self.s("NULL"),
            Node::Bool(b) => self.s(if *b { "TRUE" } else { "FALSE" }),
            Node::Neg(x) => {
                self.s("(-");
                self.node(cq, x);
                self.s(")");
            }
            Node::Not(x) => {
                self.s("(NOT ");
                self.node(cq, x);
                self.s(")");
            }
            Node::Bin(op, a, b) => self.binary(cq, *op, a, b),
            Node::Between {
                expr,
                low,
                high,
                negated,
            } => {
                self.s("(");
                self.node(cq, expr);
                self.s(if *negated {
                    " NOT BETWEEN "
                } else {
                    " BETWEEN "
                });
                self.node(cq, low);
                self.s(" AND ");
                self.node(cq, high);
                self.s(")");
            }
            Node::InList {
                expr,
                list,
                negated,
            } => {
                self.s("(");
                self.node(cq, expr);
                self.s(if *negated { " NOT IN (" } else { " IN (" });
                for (i, x) in list.iter().enumerate() {
                    if i > 0 {
                        self.s(", ");
                    }
                    self.node(cq, x);
                }
                self.s("))");
            }
            Node::Like {
                expr,
                pattern,
                negated,
            } => {
                // MySQL (Lasair) and SQLite LIKE ignore ASCII case; PostgreSQL's ILIKE
                // does the same, and needs text on the left.
                self.s("(");
                match self.d {
                    Dialect::Sqlite => {
                        self.node(cq, expr);
                        self.s(if *negated { " NOT LIKE " } else { " LIKE " });
                    }
                    Dialect::Postgres => {
                        self.s("CAST(");
                        self.node(cq, expr);
                        self.s(" AS TEXT)");
                        self.s(if *negated { " NOT ILIKE " } else { " ILIKE " });
                    }
                }
                self.node(cq, pattern);
                self.s(")");
            }
            Node::IsNull(x, negated) => {
                self.s("(");
                self.node(cq, x);
                self.s(if *negated {
                    " IS NOT NULL)"
                } else {
                    " IS NULL)"
                });
            }
            Node::Case {
                operand,
                whens,
                otherwise,
            } => {
                self.s("(CASE");
                if let Some(o) = operand {
                    self.s(" ");
                    self.node(cq, o);
                }
                for (c, r) in whens {
                    self.s(" WHEN ");
                    self.node(cq, c);
                    self.s(" THEN ");
                    self.node(cq, r);
                }
                if let Some(e) = otherwise {
                    self.s(" ELSE ");
                    self.node(cq, e);
                }
                self.s(" END)");
            }
            Node::Call(f, args) => self.call(cq, *f, args),
            Node::JsonExtract(col, keys) => self.json(cq, col, keys),
        }
    }

    fn binary(&mut self, cq: &CheckedQuery, op: BinOp, a: &Node, b: &Node) {
        let sym = match op {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Eq => "=",
            BinOp::Ne => "<>",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "AND",
            BinOp::Or => "OR",
            BinOp::Div => {
                // MySQL's `/` always gives a fraction and NULL on zero; match it.
                let float = self.float();
                self.s("(CAST(");
                self.node(cq, a);
                self.s(&format!(" AS {float}) / NULLIF("));
                self.node(cq, b);
                self.s(", 0))");
                return;
            }
            BinOp::Mod => {
                match self.d {
                    Dialect::Sqlite => {
                        self.s("(");
                        self.node(cq, a);
                        self.s(" % NULLIF(");
                        self.node(cq, b);
                        self.s(", 0))");
                    }
                    Dialect::Postgres => {
                        self.s("mod(CAST(");
                        self.node(cq, a);
                        self.s(" AS NUMERIC), NULLIF(CAST(");
                        self.node(cq, b);
                        self.s(" AS NUMERIC), 0))");
                    }
                }
                return;
            }
        };
        self.s("(");
        self.node(cq, a);
        self.s(&format!(" {sym} "));
        self.node(cq, b);
        self.s(")");
    }

    fn args(&mut self, cq: &CheckedQuery, args: &[Node]) {
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                self.s(", ");
            }
            self.node(cq, a);
        }
    }

    /// `name(x)`, NULL outside the function's domain, with `x` written once: writing it
    /// twice (`CASE WHEN x >= 0 THEN sqrt(x) END`) doubles the text at every nesting
    /// level, and 26 nested square roots made gigabytes (audit finding F1). SQLite's
    /// functions are Solas's own and already give NULL for a non-finite result
    /// (registered by the store's filter runner). PostgreSQL raises an error instead, so the
    /// argument is bound once in a one-row subquery; `OFFSET 0` keeps the planner from
    /// pulling it up, which would copy the argument into each use again.
    fn guarded(&mut self, cq: &CheckedQuery, name: &str, x: &Node, guard: &str) {
        match self.d {
            Dialect::Sqlite => {
                self.s(&format!("{name}("));
                self.node(cq, x);
                self.s(")");
            }
            Dialect::Postgres => {
                self.s(&format!(
                    "(SELECT CASE WHEN \"g\".\"v\" {guard} THEN {name}(\"g\".\"v\") END FROM (SELECT CAST("
                ));
                self.node(cq, x);
                self.s(" AS DOUBLE PRECISION) AS \"v\" OFFSET 0) AS \"g\")");
            }
        }
    }

    /// `exp(x)` and `power(a, b)` on PostgreSQL, as SQLite answers them: NULL on overflow
    /// or outside the domain, 0 on underflow. Arguments are bound once (see [`W::guarded`]).
    fn pg_overflow_guarded(&mut self, cq: &CheckedQuery, f: Func, a: &[Node]) {
        // ln of the largest double is 709.78; results below e^-745 round to 0.
        let body = match f {
            Func::Exp => {
                "CASE WHEN \"g\".\"a\" > 709.78 THEN NULL WHEN \"g\".\"a\" < -745 THEN 0 \
                 ELSE exp(\"g\".\"a\") END"
            }
            _ => {
                "CASE WHEN \"g\".\"a\" = 0 AND \"g\".\"b\" < 0 THEN NULL \
                 WHEN \"g\".\"a\" < 0 AND \"g\".\"b\" <> floor(\"g\".\"b\") THEN NULL \
                 WHEN \"g\".\"a\" <> 0 AND \"g\".\"b\" * ln(abs(\"g\".\"a\")) > 709.78 THEN NULL \
                 WHEN \"g\".\"a\" <> 0 AND \"g\".\"b\" * ln(abs(\"g\".\"a\")) < -745 THEN 0 \
                 ELSE power(\"g\".\"a\", \"g\".\"b\") END"
            }
        };
        self.s(&format!("(SELECT {body} FROM (SELECT "));
        for (i, (arg, name)) in a.iter().zip(["a", "b"]).enumerate() {
            if i > 0 {
                self.s(", ");
            }
            self.s("CAST(");
            self.node(cq, arg);
            self.s(&format!(" AS DOUBLE PRECISION) AS \"{name}\""));
        }
        self.s(" OFFSET 0) AS \"g\")");
    }

    fn mjdnow(&mut self) {
        match self.d {
            Dialect::Sqlite => self.s("(julianday('now') - 2400000.5)"),
            Dialect::Postgres => {
                self.s("(CAST(extract(epoch from now()) AS DOUBLE PRECISION) / 86400.0 + 40587.0)")
            }
        }
    }

    fn call(&mut self, cq: &CheckedQuery, f: Func, a: &[Node]) {
        let simple = |f: Func| -> Option<&'static str> {
            Some(match f {
                Func::Abs => "abs",
                Func::Exp => "exp",
                Func::Pow => "power",
                Func::Sin => "sin",
                Func::Cos => "cos",
                Func::Tan => "tan",
                Func::Atan => "atan",
                Func::Atan2 => "atan2",
                Func::Degrees => "degrees",
                Func::Radians => "radians",
                Func::Floor => "floor",
                Func::Ceil => "ceil",
                Func::Sign => "sign",
                Func::Pi => "pi",
                Func::Coalesce => "coalesce",
                _ => return None,
            })
        };
        // PostgreSQL raises an error where SQLite's functions give NULL (or 0 on
        // underflow), which failed a whole filter batch (audit finding F12): guard them.
        if self.d == Dialect::Postgres && matches!(f, Func::Exp | Func::Pow) {
            return self.pg_overflow_guarded(cq, f, a);
        }
        if let Some(name) = simple(f) {
            self.s(&format!("{name}("));
            self.args(cq, a);
            self.s(")");
            return;
        }
        match f {
            Func::Sqrt => self.guarded(cq, "sqrt", &a[0], ">= 0"),
            Func::Log10 => self.guarded(cq, "log10", &a[0], "> 0"),
            Func::Ln => self.guarded(cq, "ln", &a[0], "> 0"),
            Func::Asin => self.guarded(cq, "asin", &a[0], "BETWEEN -1 AND 1"),
            Func::Acos => self.guarded(cq, "acos", &a[0], "BETWEEN -1 AND 1"),
            Func::LogBase => {
                // log(b, x) = ln(x) / ln(b); NULL for a base of 1.
                self.s("(");
                self.guarded(cq, "ln", &a[1], "> 0");
                self.s(" / NULLIF(");
                self.guarded(cq, "ln", &a[0], "> 0");
                self.s(", 0))");
            }
            Func::Round => match (self.d, a.len()) {
                (Dialect::Postgres, 2) => {
                    // Digits clamped: a count past PostgreSQL's integer failed the query.
                    self.s("round(CAST(");
                    self.node(cq, &a[0]);
                    self.s(" AS NUMERIC), CAST(greatest(least(");
                    self.node(cq, &a[1]);
                    self.s(", 1000), -1000) AS INTEGER))");
                }
                _ => {
                    self.s("round(");
                    self.args(cq, a);
                    self.s(")");
                }
            },
            Func::Greatest | Func::Least => {
                let name = match (self.d, f) {
                    (Dialect::Sqlite, Func::Greatest) => "max",
                    (Dialect::Sqlite, _) => "min",
                    (Dialect::Postgres, Func::Greatest) => "greatest",
                    (Dialect::Postgres, _) => "least",
                };
                self.s(&format!("{name}("));
                self.args(cq, a);
                self.s(")");
            }
            Func::If => {
                self.s("(CASE WHEN ");
                self.node(cq, &a[0]);
                self.s(" THEN ");
                self.node(cq, &a[1]);
                self.s(" ELSE ");
                self.node(cq, &a[2]);
                self.s(" END)");
            }
            Func::MjdNow => self.mjdnow(),
            Func::JdNow => {
                self.s("(");
                self.mjdnow();
                self.s(" + 2400000.5)");
            }
            Func::Flux2Mag => {
                // Lasair's SQL function: AB magnitude of a flux in nJy, NULL unless > 0.
                self.s("(31.4 - 2.5 * ");
                self.guarded(cq, "log10", &a[0], "> 0");
                self.s(")");
            }
            _ => unreachable!("simple functions are handled above"),
        }
    }

    fn json(&mut self, cq: &CheckedQuery, col: &Node, keys: &[String]) {
        match self.d {
            Dialect::Sqlite => {
                // Quoted labels, so keys with '-' or spaces work.
                let path: String = std::iter::once("$".to_string())
                    .chain(keys.iter().map(|k| format!(".\"{k}\"")))
                    .collect();
                self.s("json_extract(");
                self.node(cq, col);
                self.s(", ");
                self.param(Param::Text(path));
                self.s(")");
            }
            Dialect::Postgres => {
                // Numbers only: JSON values have no single SQL type on PostgreSQL, and
                // filters compare them with numbers.
                let extract = |w: &mut W, text: bool| {
                    w.s(if text {
                        "jsonb_extract_path_text(CAST("
                    } else {
                        "jsonb_extract_path(CAST("
                    });
                    w.node(cq, col);
                    w.s(" AS JSONB)");
                    for k in keys {
                        w.s(", ");
                        w.param(Param::Text(k.clone()));
                    }
                    w.s(")");
                };
                self.s("(CASE WHEN jsonb_typeof(");
                extract(self, false);
                self.s(") = 'number' THEN CAST(");
                extract(self, true);
                self.s(" AS DOUBLE PRECISION) END)");
            }
        }
    }
}

impl CheckedQuery {
    /// Renders the query. `limit` becomes `LIMIT <param>` at the very end, after
    /// Solas's own text. `restrict_to_batch` names a table (e.g. a temporary table the
    /// filter stage fills per batch) with one column named like the survey's object key
    /// (`diaObjectId` or `objectId`); only objects in it are returned.
    pub fn render(
        &self,
        dialect: Dialect,
        limit: Option<u64>,
        restrict_to_batch: Option<&str>,
    ) -> Rendered {
        let mut w = W {
            d: dialect,
            sql: String::new(),
            params: Vec::new(),
        };
        let key = q(object_key(self.survey));
        w.s("SELECT ");
        for (i, o) in self.outputs.iter().enumerate() {
            if i > 0 {
                w.s(", ");
            }
            w.node(self, &o.node);
            w.s(&format!(" AS \"c{i}\""));
        }
        for s in &self.sources {
            let table = q(physical_table(s.kind, self.survey));
            let alias = q(&s.alias);
            match &s.join {
                Join::Base => w.s(&format!("\nFROM {table} AS {alias}")),
                Join::Key(extra) => {
                    w.s(&format!(
                        "\nJOIN {table} AS {alias} ON {alias}.{key} = \"objects\".{key}"
                    ));
                    if let Some((col, id)) = extra {
                        w.s(&format!(" AND {alias}.{} = {id}", q(col)));
                    }
                    // A cone whose magnitude trigger held it back this time is not a hit
                    // (always 1 for lists without a trigger).
                    if s.kind == TableKind::WatchlistHits {
                        w.s(&format!(" AND {alias}.\"fired\" = 1"));
                    }
                }
                Join::KeyTopic(topic) => {
                    w.s(&format!(
                        "\nJOIN {table} AS {alias} ON {alias}.{key} = \"objects\".{key} AND {alias}.\"topic\" = "
                    ));
                    w.param(Param::Text(topic.clone()));
                }
                Join::KeyOwnerTag(owner, tag) => {
                    w.s(&format!(
                        "\nJOIN {table} AS {alias} ON {alias}.{key} = \"objects\".{key} AND {alias}.\"owner\" = {owner} AND {alias}.\"tag\" = "
                    ));
                    w.param(Param::Text(tag.clone()));
                }
                Join::TnsName(src, col) => {
                    let via = q(&self.sources[*src].alias);
                    w.s(&format!(
                        "\nJOIN {table} AS {alias} ON {alias}.\"tns_name\" = {via}.{}",
                        q(col)
                    ));
                }
            }
        }
        let mut clauses = 0;
        if let Some(f) = &self.filter {
            w.s("\nWHERE ");
            w.node(self, f);
            clauses += 1;
        }
        if let Some(batch) = restrict_to_batch {
            w.s(if clauses == 0 { "\nWHERE " } else { "\n  AND " });
            w.s(&format!(
                "\"objects\".{key} IN (SELECT {key} FROM {})",
                q(batch)
            ));
        }
        if !self.order.is_empty() {
            w.s("\nORDER BY ");
            for (i, o) in self.order.iter().enumerate() {
                if i > 0 {
                    w.s(", ");
                }
                w.node(self, &o.node);
                w.s(if o.desc { " DESC" } else { " ASC" });
                match o.nulls_first {
                    Some(true) => w.s(" NULLS FIRST"),
                    Some(false) => w.s(" NULLS LAST"),
                    None => {}
                }
            }
        }
        if let Some(n) = limit {
            w.s("\nLIMIT ");
            w.param(Param::Int(i64::try_from(n).unwrap_or(i64::MAX)));
        }
        Rendered {
            sql: w.sql,
            params: w.params,
        }
    }

    /// Names of the output columns, in order (the SQL aliases them `c0, c1, …`): the
    /// column name, the user's `AS` alias, or the expression's text.
    pub fn columns(&self) -> Vec<String> {
        self.outputs.iter().map(|o| o.name.clone()).collect()
    }

    /// The annotator topics the filter joins (lower case): an annotation from any of them
    /// makes the filter run again for that object.
    pub fn annotators(&self) -> Vec<String> {
        self.sources
            .iter()
            .filter_map(|s| match &s.join {
                crate::check::Join::KeyTopic(topic) => Some(topic.to_ascii_lowercase()),
                _ => None,
            })
            .collect()
    }

    pub fn survey(&self) -> crate::Survey {
        self.survey
    }

    /// Every column the rendered SQL reads, by the kind of table it is in: those the user
    /// named (a `*` expanded) and those the joins in [`CheckedQuery::render`] name. A copy
    /// of the batch holding only these gives the filter the same rows as the whole table.
    pub fn columns_read(&self) -> Vec<(TableKind, &'static str)> {
        let key = object_key(self.survey);
        let mut out: Vec<(TableKind, &'static str)> = Vec::new();
        let mut add = |kind: TableKind, col: &'static str| {
            if !out.contains(&(kind, col)) {
                out.push((kind, col));
            }
        };
        for s in &self.sources {
            match &s.join {
                Join::Base => add(s.kind, key),
                Join::Key(extra) => {
                    add(s.kind, key);
                    if let Some((col, _)) = extra {
                        add(s.kind, col);
                    }
                    if s.kind == TableKind::WatchlistHits {
                        add(s.kind, "fired");
                    }
                }
                Join::KeyTopic(_) => {
                    add(s.kind, key);
                    add(s.kind, "topic");
                }
                Join::KeyOwnerTag(..) => {
                    add(s.kind, key);
                    add(s.kind, "owner");
                    add(s.kind, "tag");
                }
                Join::TnsName(src, col) => {
                    add(s.kind, "tns_name");
                    add(self.sources[*src].kind, col);
                }
            }
        }
        let nodes = self
            .outputs
            .iter()
            .map(|o| &o.node)
            .chain(self.filter.iter())
            .chain(self.order.iter().map(|o| &o.node));
        for node in nodes {
            node.each_column(&mut |src, col| add(self.sources[src].kind, col));
        }
        out
    }
}
