//! The second gate and the security boundary: parse each screened part with sqlparser,
//! then walk the syntax tree and rebuild it as Solas's own small tree ([`Node`]), which
//! can only express whitelisted columns, operators and functions. Anything the walk does
//! not recognise is refused (the matches end in a refusing `_` arm), so a new sqlparser
//! feature cannot slip through. Only the rebuilt tree is kept and rendered.

use sqlparser::ast::{
    BinaryOperator, CeilFloorKind, DateTimeField, Expr, FunctionArg, FunctionArgExpr,
    FunctionArguments, Ident, ObjectName, ObjectNamePart, OrderByExpr, OrderBySort, SelectItem,
    SelectItemQualifiedWildcardKind, Spanned, UnaryOperator, Value, WildcardAdditionalOptions,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::{Part, QueryError};
use crate::lex::{screen, snippet_at};
use crate::schema::{self, object_key, TableKind};
use crate::spec::{
    FilterSpec, Resources, Survey, MAX_TREE_DEPTH, PARSER_RECURSION_LIMIT, STACK_GROWTH,
    STACK_RED_ZONE,
};
use crate::tables::{is_identifier, parse_tables};

/// How a joined table is tied to `objects`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Join {
    /// `objects` itself, the FROM table.
    Base,
    /// `t.key = objects.key`, optionally `AND t.<col> = <id>`.
    Key(Option<(&'static str, i64)>),
    /// `t.key = objects.key AND t.topic = <bound string>`.
    KeyTopic(String),
    /// `crossmatch_tns.tns_name = <source>.<column>`.
    TnsName(usize, &'static str),
    /// `t.key = objects.key AND t.owner = <owner> AND t.tag = <bound string>`.
    KeyOwnerTag(i64, String),
}

/// One table in the query, under an alias Solas chooses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Source {
    pub kind: TableKind,
    /// Names the user may write for it (lower case); empty for hidden helper joins.
    pub names: Vec<String>,
    pub alias: String,
    pub join: Join,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Abs,
    Sqrt,
    Log10,
    Ln,
    LogBase,
    Exp,
    Pow,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Atan2,
    Degrees,
    Radians,
    Floor,
    Ceil,
    Round,
    Sign,
    Pi,
    Greatest,
    Least,
    Coalesce,
    If,
    MjdNow,
    JdNow,
    Flux2Mag,
}

/// The whitelist of functions: user name, function, min and max argument counts.
const FUNCTIONS: &[(&str, Func, usize, usize)] = &[
    ("abs", Func::Abs, 1, 1),
    ("sqrt", Func::Sqrt, 1, 1),
    ("log10", Func::Log10, 1, 1),
    ("ln", Func::Ln, 1, 1),
    // MySQL's one-argument log is the natural log; log(b, x) is base b.
    ("log", Func::Ln, 1, 1),
    ("exp", Func::Exp, 1, 1),
    ("pow", Func::Pow, 2, 2),
    ("power", Func::Pow, 2, 2),
    ("sin", Func::Sin, 1, 1),
    ("cos", Func::Cos, 1, 1),
    ("tan", Func::Tan, 1, 1),
    ("asin", Func::Asin, 1, 1),
    ("acos", Func::Acos, 1, 1),
    ("atan", Func::Atan, 1, 1),
    ("atan2", Func::Atan2, 2, 2),
    ("degrees", Func::Degrees, 1, 1),
    ("radians", Func::Radians, 1, 1),
    ("floor", Func::Floor, 1, 1),
    ("ceil", Func::Ceil, 1, 1),
    ("ceiling", Func::Ceil, 1, 1),
    ("round", Func::Round, 1, 2),
    ("sign", Func::Sign, 1, 1),
    ("pi", Func::Pi, 0, 0),
    ("greatest", Func::Greatest, 2, 16),
    ("least", Func::Least, 2, 16),
    ("coalesce", Func::Coalesce, 2, 16),
    ("ifnull", Func::Coalesce, 2, 2),
    ("if", Func::If, 3, 3),
    ("mjdnow", Func::MjdNow, 0, 0),
    ("jdnow", Func::JdNow, 0, 0),
    ("flux2mag", Func::Flux2Mag, 1, 1),
];

const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "group_concat",
    "std",
    "stddev",
    "variance",
];

/// The checked tree. Leaves are whitelisted columns (by source index and canonical
/// name), validated numbers, and strings that are only ever bound as parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Col(usize, &'static str),
    /// Digits, `.`, exponent: checked to be a finite number.
    Num(String),
    Str(String),
    Null,
    Bool(bool),
    Neg(Box<Node>),
    Not(Box<Node>),
    Bin(BinOp, Box<Node>, Box<Node>),
    Between {
        expr: Box<Node>,
        low: Box<Node>,
        high: Box<Node>,
        negated: bool,
    },
    InList {
        expr: Box<Node>,
        list: Vec<Node>,
        negated: bool,
    },
    Like {
        expr: Box<Node>,
        pattern: Box<Node>,
        negated: bool,
    },
    IsNull(Box<Node>, bool),
    Case {
        operand: Option<Box<Node>>,
        whens: Vec<(Node, Node)>,
        otherwise: Option<Box<Node>>,
    },
    Call(Func, Vec<Node>),
    /// `json_extract(column, '$.a.b')`: the path split into keys.
    JsonExtract(Box<Node>, Vec<String>),
}

impl Node {
    /// Calls `f` with every column this expression reads (source index, column).
    pub(crate) fn each_column(&self, f: &mut impl FnMut(usize, &'static str)) {
        match self {
            Node::Col(src, col) => f(*src, col),
            Node::Num(_) | Node::Str(_) | Node::Null | Node::Bool(_) => {}
            Node::Neg(e) | Node::Not(e) | Node::IsNull(e, _) | Node::JsonExtract(e, _) => {
                e.each_column(f)
            }
            Node::Bin(_, a, b) => {
                a.each_column(f);
                b.each_column(f);
            }
            Node::Between {
                expr, low, high, ..
            } => {
                for e in [expr, low, high] {
                    e.each_column(f);
                }
            }
            Node::InList { expr, list, .. } => {
                expr.each_column(f);
                list.iter().for_each(|e| e.each_column(f));
            }
            Node::Like { expr, pattern, .. } => {
                expr.each_column(f);
                pattern.each_column(f);
            }
            Node::Case {
                operand,
                whens,
                otherwise,
            } => {
                operand
                    .iter()
                    .chain(otherwise.iter())
                    .for_each(|e| e.each_column(f));
                for (when, then) in whens {
                    when.each_column(f);
                    then.each_column(f);
                }
            }
            Node::Call(_, args) => args.iter().for_each(|e| e.each_column(f)),
        }
    }

    /// Can this stand where SQL wants true/false? MySQL takes numbers as booleans;
    /// PostgreSQL does not, so Solas asks for a real condition.
    fn is_condition(&self) -> bool {
        matches!(
            self,
            Node::Bin(
                BinOp::Eq
                    | BinOp::Ne
                    | BinOp::Lt
                    | BinOp::Le
                    | BinOp::Gt
                    | BinOp::Ge
                    | BinOp::And
                    | BinOp::Or,
                ..
            ) | Node::Not(_)
                | Node::Between { .. }
                | Node::InList { .. }
                | Node::Like { .. }
                | Node::IsNull(..)
                | Node::Bool(_)
                | Node::Null
                | Node::Case { .. }
                | Node::Call(Func::If, _)
        )
    }
}

/// One output column: its expression and the name reported by `columns()`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Output {
    pub node: Node,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Order {
    pub node: Node,
    pub desc: bool,
    pub nulls_first: Option<bool>,
}

/// A filter that passed every check, as Solas's own tree. Render it with
/// [`CheckedQuery::render`](crate::CheckedQuery::render).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedQuery {
    pub(crate) survey: Survey,
    pub(crate) sources: Vec<Source>,
    pub(crate) outputs: Vec<Output>,
    pub(crate) filter: Option<Node>,
    pub(crate) order: Vec<Order>,
}

/// Parses and checks a filter. `user` is the caller's user id (None when anonymous),
/// used to refuse other users' private watchlists and watchmaps.
pub fn check(
    spec: &FilterSpec,
    survey: Survey,
    user: Option<i64>,
    resources: &dyn Resources,
) -> Result<CheckedQuery, QueryError> {
    // Screen all three texts before asking the resource database anything.
    let sel_tokens = screen(&spec.selected, Part::Selected)?;
    let cond_tokens = screen(&spec.conditions, Part::Conditions)?;
    if spec.tables.chars().count() > crate::spec::MAX_PART_CHARS {
        return Err(QueryError::new(Part::Tables, "too long").at(
            spec.tables
                .chars()
                .skip(crate::spec::MAX_PART_CHARS)
                .take(20)
                .collect::<String>(),
            None,
        ));
    }
    let tables = parse_tables(&spec.tables, user, resources)?;
    let tns_watchlist = if tables.crossmatch_tns {
        resources.tns_watchlist_id()?
    } else {
        None
    };
    let sources = build_sources(&tables, survey, tns_watchlist)
        .map_err(|m| QueryError::new(Part::Tables, m).at("crossmatch_tns", None))?;

    let mut walker = Walker {
        survey,
        sources: &sources,
        part: Part::Selected,
        text: &spec.selected,
        aliases: Vec::new(),
    };
    let outputs = walker.selected(sel_tokens)?;
    walker.part = Part::Conditions;
    walker.text = &spec.conditions;
    walker.aliases = outputs.clone();
    let (filter, order) = walker.conditions(cond_tokens)?;
    let query = CheckedQuery {
        survey,
        sources,
        outputs,
        filter,
        order,
    };
    // Whatever is saved or run must render within bounds on either backend.
    for dialect in [crate::Dialect::Sqlite, crate::Dialect::Postgres] {
        let size = query.render(dialect, Some(1), None).sql.len();
        if size > crate::spec::MAX_RENDERED_BYTES {
            return Err(QueryError::new(
                Part::Conditions,
                format!(
                    "the filter is too complex: it makes {size} bytes of SQL, more than {} \
                     (simplify nested functions)",
                    crate::spec::MAX_RENDERED_BYTES
                ),
            ));
        }
    }
    Ok(query)
}

fn build_sources(
    t: &crate::tables::TableList,
    survey: Survey,
    tns_watchlist: Option<i64>,
) -> Result<Vec<Source>, String> {
    let mut s = vec![Source {
        kind: TableKind::Objects,
        names: vec!["objects".into(), "objects_ext".into()],
        alias: "objects".into(),
        join: Join::Base,
    }];
    if t.sherlock {
        s.push(Source {
            kind: TableKind::Sherlock,
            names: vec!["sherlock_classifications".into()],
            alias: "sherlock_classifications".into(),
            join: Join::Key(None),
        });
    }
    if t.consensus {
        s.push(Source {
            kind: TableKind::Consensus,
            names: vec!["consensus".into()],
            alias: "consensus".into(),
            join: Join::Key(None),
        });
    }
    if t.counterparts {
        s.push(Source {
            kind: TableKind::Counterparts,
            names: vec!["counterparts".into()],
            alias: "counterparts".into(),
            join: Join::Key(None),
        });
    }
    if let Some(id) = t.mining {
        s.push(Source {
            kind: TableKind::Mining,
            names: vec!["mining".into()],
            alias: "mining".into(),
            join: Join::Key(Some(("run_id", id))),
        });
    }
    if let Some(id) = t.watchlist {
        s.push(Source {
            kind: TableKind::WatchlistHits,
            names: vec!["watchlist_hits".into()],
            alias: "watchlist_hits".into(),
            join: Join::Key(Some(("wl_id", id))),
        });
    }
    let single = t.watchmaps.len() == 1;
    for (i, id) in t.watchmaps.iter().enumerate() {
        let mut names = vec![format!("ar{i}")];
        if single {
            names.push("area_hits".into());
        }
        s.push(Source {
            kind: TableKind::AreaHits,
            names,
            alias: if single {
                "area_hits".into()
            } else {
                format!("ar{i}")
            },
            join: Join::Key(Some(("ar_id", *id))),
        });
    }
    if t.crossmatch_tns {
        let via =
            match (tns_watchlist, survey) {
                (Some(id), _) => {
                    s.push(Source {
                        kind: TableKind::WatchlistHits,
                        names: vec![],
                        alias: "tns_hits".into(),
                        join: Join::Key(Some(("wl_id", id))),
                    });
                    (s.len() - 1, "name")
                }
                (None, Survey::Lsst) => (0, "tns_name"),
                (None, Survey::Ztf) => return Err(
                    "crossmatch_tns needs the TNS watchlist, which this deployment does not have"
                        .into(),
                ),
            };
        s.push(Source {
            kind: TableKind::CrossmatchTns,
            names: vec!["crossmatch_tns".into()],
            alias: "crossmatch_tns".into(),
            join: Join::TnsName(via.0, via.1),
        });
    }
    for (i, topic) in t.annotators.iter().enumerate() {
        s.push(Source {
            kind: TableKind::Annotations,
            names: vec![topic.to_ascii_lowercase()],
            alias: format!("ann{i}"),
            join: Join::KeyTopic(topic.clone()),
        });
    }
    if let Some(owner) = t.tag_owner {
        for (i, tag) in t.tags.iter().enumerate() {
            s.push(Source {
                kind: TableKind::Tags,
                names: vec![format!("tag_{}", tag.to_ascii_lowercase())],
                alias: format!("tag{i}"),
                join: Join::KeyOwnerTag(owner, tag.clone()),
            });
        }
    }
    Ok(s)
}

struct Walker<'a> {
    survey: Survey,
    sources: &'a [Source],
    part: Part,
    text: &'a str,
    /// Output columns, which ORDER BY may name by alias.
    aliases: Vec<Output>,
}

fn pos_of(span: sqlparser::tokenizer::Span) -> Option<(u64, u64)> {
    Some((span.start.line, span.start.column))
}

impl Walker<'_> {
    fn err(
        &self,
        msg: impl Into<String>,
        token: impl AsRef<str>,
        span: sqlparser::tokenizer::Span,
    ) -> QueryError {
        QueryError::new(self.part, msg).at(token, pos_of(span))
    }

    fn parser(&self, tokens: Vec<TokenWithSpan>) -> Parser<'static> {
        static DIALECT: MySqlDialect = MySqlDialect {};
        Parser::new(&DIALECT)
            .with_recursion_limit(PARSER_RECURSION_LIMIT)
            .with_tokens_with_locations(tokens)
    }

    /// Turns a sqlparser error into ours, pulling out the position and the token it
    /// mentions ("... found: X at Line: L, Column: C").
    fn parse_err(&self, e: ParserError, p: &Parser) -> QueryError {
        match e {
            ParserError::RecursionLimitExceeded => {
                let t = p.peek_token();
                self.err("expression nested too deeply", t.token.to_string(), t.span)
            }
            ParserError::ParserError(m) | ParserError::TokenizerError(m) => {
                let (msg, pos) = match m.rfind(" at Line: ") {
                    Some(i) => {
                        let loc = &m[i + " at Line: ".len()..];
                        let mut it = loc.split(", Column: ");
                        let line = it.next().and_then(|l| l.trim().parse().ok());
                        let col = it.next().and_then(|c| c.trim().parse().ok());
                        (m[..i].to_string(), line.zip(col))
                    }
                    None => (m.clone(), None),
                };
                let token = match msg.rfind("found: ") {
                    Some(i) => msg[i + "found: ".len()..].to_string(),
                    None => pos
                        .map(|(l, c)| snippet_at(self.text, l, c))
                        .unwrap_or_else(|| p.peek_token().token.to_string()),
                };
                let pos = pos.or_else(|| {
                    let s = p.peek_token().span;
                    pos_of(s)
                });
                QueryError::new(self.part, format!("syntax error: {msg}")).at(token, pos)
            }
        }
    }

    fn expect_end(&self, p: &mut Parser) -> Result<(), QueryError> {
        let t = p.peek_token();
        match &t.token {
            Token::EOF => Ok(()),
            Token::Word(w) if w.keyword == Keyword::ORDER && self.part == Part::Selected => {
                Err(self.err("ORDER BY belongs in the conditions", &w.value, t.span))
            }
            other => Err(self.err(
                "unexpected text after the expression",
                other.to_string(),
                t.span,
            )),
        }
    }

    fn selected(&mut self, tokens: Vec<TokenWithSpan>) -> Result<Vec<Output>, QueryError> {
        let mut p = self.parser(tokens);
        if p.peek_token().token == Token::EOF {
            return Err(
                QueryError::new(self.part, "nothing selected: try `objects.*` or `*`")
                    .at("end of input", Some((1, 1))),
            );
        }
        let items = p
            .parse_comma_separated(Parser::parse_select_item)
            .map_err(|e| self.parse_err(e, &p))?;
        self.expect_end(&mut p)?;
        let mut out = Vec::new();
        for item in &items {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let node = self.expr(e, 0)?;
                    let name = match &node {
                        Node::Col(_, c) => c.to_string(),
                        _ => e.to_string(),
                    };
                    out.push(Output { node, name });
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    if alias.quote_style.is_some_and(|q| q != '`') || !is_identifier(&alias.value) {
                        return Err(self.err(
                            "a column alias must be letters, digits and _",
                            &alias.value,
                            alias.span,
                        ));
                    }
                    let node = self.expr(expr, 0)?;
                    out.push(Output {
                        node,
                        name: alias.value.clone(),
                    });
                }
                SelectItem::Wildcard(opts) => {
                    self.plain_wildcard(opts)?;
                    self.expand(0, &mut out);
                }
                SelectItem::QualifiedWildcard(kind, opts) => {
                    self.plain_wildcard(opts)?;
                    let SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                        return Err(self.err("not a table name", item.to_string(), item.span()));
                    };
                    let ident = single_ident(name).ok_or_else(|| {
                        self.err("not a table name", name.to_string(), name.span())
                    })?;
                    let src = self.source(ident)?;
                    self.expand(src, &mut out);
                }
                other => {
                    return Err(self.err(
                        "not allowed in the select list",
                        other.to_string(),
                        other.span(),
                    ))
                }
            }
        }
        Ok(out)
    }

    fn plain_wildcard(&self, opts: &WildcardAdditionalOptions) -> Result<(), QueryError> {
        let plain = WildcardAdditionalOptions {
            wildcard_token: opts.wildcard_token.clone(),
            ..Default::default()
        };
        if *opts != plain {
            return Err(self.err(
                "only a plain `*` is allowed",
                opts.to_string(),
                opts.wildcard_token.0.span,
            ));
        }
        Ok(())
    }

    /// `*` means the columns of `objects`; `t.*` those of table t. Expanded here so that
    /// columns outside the whitelist can never be returned.
    fn expand(&self, src: usize, out: &mut Vec<Output>) {
        for col in schema::columns(self.sources[src].kind, self.survey) {
            out.push(Output {
                node: Node::Col(src, col.name),
                name: col.name.to_string(),
            });
        }
    }

    fn conditions(
        &mut self,
        tokens: Vec<TokenWithSpan>,
    ) -> Result<(Option<Node>, Vec<Order>), QueryError> {
        let mut p = self.parser(tokens);
        let filter = if p.peek_token().token == Token::EOF || p.peek_keyword(Keyword::ORDER) {
            None
        } else {
            let e = p.parse_expr().map_err(|e| self.parse_err(e, &p))?;
            let node = self.expr(&e, 0)?;
            if !node.is_condition() {
                return Err(self.err(
                    "the conditions must be true/false: compare a value, e.g. `x > 0`",
                    e.to_string(),
                    e.span(),
                ));
            }
            Some(node)
        };
        let mut order = Vec::new();
        if p.parse_keywords(&[Keyword::ORDER, Keyword::BY]) {
            let items = p
                .parse_comma_separated(Parser::parse_order_by_expr)
                .map_err(|e| self.parse_err(e, &p))?;
            for item in &items {
                order.push(self.order_item(item)?);
            }
        }
        self.expect_end(&mut p)?;
        Ok((filter, order))
    }

    fn order_item(&self, item: &OrderByExpr) -> Result<Order, QueryError> {
        if item.with_fill.is_some() {
            return Err(self.err(
                "WITH FILL is not allowed",
                item.to_string(),
                item.expr.span(),
            ));
        }
        let desc = match &item.options.sort {
            None | Some(OrderBySort::Asc) => false,
            Some(OrderBySort::Desc) => true,
            Some(other) => {
                return Err(self.err("only ASC or DESC", format!("{other:?}"), item.expr.span()))
            }
        };
        // An output alias may be used as an ORDER BY term, as in MySQL.
        if let Expr::Identifier(id) = &item.expr {
            if let Some(o) = self
                .aliases
                .iter()
                .find(|o| o.name.eq_ignore_ascii_case(&id.value))
            {
                if !matches!(o.node, Node::Col(..)) || !self.is_column(&id.value) {
                    return Ok(Order {
                        node: o.node.clone(),
                        desc,
                        nulls_first: item.options.nulls_first,
                    });
                }
            }
        }
        let node = self.expr(&item.expr, 0)?;
        if matches!(
            node,
            Node::Num(_) | Node::Str(_) | Node::Null | Node::Bool(_)
        ) {
            return Err(self.err(
                "order by a column or an expression, not a constant",
                item.expr.to_string(),
                item.expr.span(),
            ));
        }
        Ok(Order {
            node,
            desc,
            nulls_first: item.options.nulls_first,
        })
    }

    fn is_column(&self, name: &str) -> bool {
        self.sources.iter().any(|s| {
            !s.names.is_empty() && schema::find_column(s.kind, self.survey, name).is_some()
        })
    }

    /// The source a qualifier names.
    fn source(&self, ident: &Ident) -> Result<usize, QueryError> {
        let lower = ident.value.to_ascii_lowercase();
        self.sources
            .iter()
            .position(|s| s.names.contains(&lower))
            .ok_or_else(|| {
                self.err(
                    "unknown table: name objects, or a table listed in `tables`",
                    &ident.value,
                    ident.span,
                )
            })
    }

    fn column(&self, qualifier: Option<&Ident>, name: &Ident) -> Result<Node, QueryError> {
        if let Some(q) = qualifier {
            let src = self.source(q)?;
            let col = schema::find_column(self.sources[src].kind, self.survey, &name.value)
                .ok_or_else(|| {
                    self.err(
                        format!("table {} has no such column", q.value),
                        format!("{}.{}", q.value, name.value),
                        q.span,
                    )
                })?;
            return Ok(Node::Col(src, col));
        }
        // Unqualified: the object key means objects' key; otherwise the name must be in
        // exactly one of the tables in use.
        if name.value.eq_ignore_ascii_case(object_key(self.survey)) {
            return Ok(Node::Col(0, object_key(self.survey)));
        }
        let hits: Vec<(usize, &'static str)> = self
            .sources
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.names.is_empty())
            .filter_map(|(i, s)| {
                schema::find_column(s.kind, self.survey, &name.value).map(|c| (i, c))
            })
            .collect();
        match hits.as_slice() {
            [(src, col)] => Ok(Node::Col(*src, col)),
            [] => Err(self.err("unknown column", &name.value, name.span)),
            many => {
                let tables: Vec<&str> = many
                    .iter()
                    .map(|(i, _)| self.sources[*i].names[0].as_str())
                    .collect();
                Err(self.err(
                    format!(
                        "ambiguous column: qualify it with one of {}",
                        tables.join(", ")
                    ),
                    &name.value,
                    name.span,
                ))
            }
        }
    }

    fn expr(&self, e: &Expr, depth: usize) -> Result<Node, QueryError> {
        // A tree MAX_TREE_DEPTH deep overflowed a 2 MB thread stack in a debug build.
        stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || self.expr_at(e, depth))
    }

    fn expr_at(&self, e: &Expr, depth: usize) -> Result<Node, QueryError> {
        if depth > MAX_TREE_DEPTH {
            return Err(self.err("expression nested too deeply", e.to_string(), e.span()));
        }
        let d = depth + 1;
        let sub = |x: &Expr| self.expr(x, d).map(Box::new);
        let cond = |x: &Expr| -> Result<Box<Node>, QueryError> {
            let n = self.expr(x, d)?;
            if n.is_condition() {
                Ok(Box::new(n))
            } else {
                Err(self.err(
                    "expected a true/false condition here",
                    x.to_string(),
                    x.span(),
                ))
            }
        };
        Ok(match e {
            Expr::Identifier(id) => {
                self.plain_ident(id)?;
                self.column(None, id)?
            }
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, c] => {
                    self.plain_ident(q)?;
                    self.plain_ident(c)?;
                    self.column(Some(q), c)?
                }
                _ => return Err(self.err("use table.column", e.to_string(), e.span())),
            },
            Expr::Nested(inner) => self.expr(inner, d)?,
            Expr::Value(v) => match &v.value {
                Value::Number(s, false) if valid_number(s) => Node::Num(s.clone()),
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Node::Str(s.clone()),
                Value::Boolean(b) => Node::Bool(*b),
                Value::Null => Node::Null,
                other => {
                    return Err(self.err(
                        "this kind of literal is not allowed",
                        other.to_string(),
                        v.span,
                    ))
                }
            },
            Expr::UnaryOp { op, expr } => match op {
                UnaryOperator::Minus => Node::Neg(sub(expr)?),
                UnaryOperator::Plus => self.expr(expr, d)?,
                UnaryOperator::Not => Node::Not(cond(expr)?),
                other => return Err(self.err("operator not allowed", other.to_string(), e.span())),
            },
            Expr::BinaryOp { left, op, right } => {
                let bop = match op {
                    BinaryOperator::Plus => BinOp::Add,
                    BinaryOperator::Minus => BinOp::Sub,
                    BinaryOperator::Multiply => BinOp::Mul,
                    BinaryOperator::Divide => BinOp::Div,
                    BinaryOperator::Modulo => BinOp::Mod,
                    BinaryOperator::Eq => BinOp::Eq,
                    BinaryOperator::NotEq => BinOp::Ne,
                    BinaryOperator::Lt => BinOp::Lt,
                    BinaryOperator::LtEq => BinOp::Le,
                    BinaryOperator::Gt => BinOp::Gt,
                    BinaryOperator::GtEq => BinOp::Ge,
                    BinaryOperator::And => BinOp::And,
                    BinaryOperator::Or => BinOp::Or,
                    other => {
                        return Err(self.err("operator not allowed", other.to_string(), e.span()))
                    }
                };
                if matches!(bop, BinOp::And | BinOp::Or) {
                    Node::Bin(bop, cond(left)?, cond(right)?)
                } else {
                    Node::Bin(bop, sub(left)?, sub(right)?)
                }
            }
            Expr::IsNull(x) => Node::IsNull(sub(x)?, false),
            Expr::IsNotNull(x) => Node::IsNull(sub(x)?, true),
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => Node::Between {
                expr: sub(expr)?,
                low: sub(low)?,
                high: sub(high)?,
                negated: *negated,
            },
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let mut items = Vec::with_capacity(list.len());
                for x in list {
                    let n = self.expr(x, d)?;
                    let literal = match &n {
                        Node::Num(_) | Node::Str(_) | Node::Null | Node::Bool(_) => true,
                        Node::Neg(inner) => matches!(**inner, Node::Num(_)),
                        _ => false,
                    };
                    if !literal {
                        return Err(self.err(
                            "IN takes a list of constants",
                            x.to_string(),
                            x.span(),
                        ));
                    }
                    items.push(n);
                }
                Node::InList {
                    expr: sub(expr)?,
                    list: items,
                    negated: *negated,
                }
            }
            Expr::Like {
                negated,
                any: false,
                expr,
                pattern,
                escape_char: None,
            } => Node::Like {
                expr: sub(expr)?,
                pattern: sub(pattern)?,
                negated: *negated,
            },
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = operand.as_deref().map(sub).transpose()?;
                let mut whens = Vec::new();
                for w in conditions {
                    let c = if operand.is_some() {
                        self.expr(&w.condition, d)?
                    } else {
                        *cond(&w.condition)?
                    };
                    whens.push((c, self.expr(&w.result, d)?));
                }
                Node::Case {
                    operand,
                    whens,
                    otherwise: else_result.as_deref().map(sub).transpose()?,
                }
            }
            Expr::Function(f) => self.function(f, e, d)?,
            // sqlparser gives FLOOR and CEIL nodes of their own.
            Expr::Floor {
                expr,
                field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime),
            } => Node::Call(Func::Floor, vec![self.expr(expr, d)?]),
            Expr::Ceil {
                expr,
                field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime),
            } => Node::Call(Func::Ceil, vec![self.expr(expr, d)?]),
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                return Err(self.err("subqueries are not allowed", e.to_string(), e.span()))
            }
            other => {
                return Err(self.err(
                    "this kind of expression is not allowed",
                    other.to_string(),
                    other.span(),
                ))
            }
        })
    }

    fn plain_ident(&self, id: &Ident) -> Result<(), QueryError> {
        match id.quote_style {
            None | Some('`') => Ok(()),
            Some(_) => Err(self.err("quoted names are not allowed", &id.value, id.span)),
        }
    }

    fn function(
        &self,
        f: &sqlparser::ast::Function,
        e: &Expr,
        d: usize,
    ) -> Result<Node, QueryError> {
        let name = single_ident(&f.name)
            .filter(|id| id.quote_style.is_none())
            .map(|id| id.value.to_ascii_lowercase())
            .ok_or_else(|| self.err("unknown function", f.name.to_string(), f.name.span()))?;
        if f.over.is_some() {
            return Err(self.err("window functions are not allowed", e.to_string(), e.span()));
        }
        if AGGREGATES.contains(&name.as_str()) {
            return Err(self.err(
                "aggregates and GROUP BY are not supported: a filter returns rows of objects \
                 (use greatest()/least() for the larger/smaller of values)",
                &name,
                f.name.span(),
            ));
        }
        let plain = f.filter.is_none()
            && f.null_treatment.is_none()
            && f.within_group.is_empty()
            && !f.uses_odbc_syntax
            && matches!(f.parameters, FunctionArguments::None);
        let FunctionArguments::List(list) = &f.args else {
            return Err(self.err("not a function call", e.to_string(), e.span()));
        };
        if !plain || list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
            return Err(self.err(
                "only plain function calls are allowed",
                e.to_string(),
                e.span(),
            ));
        }
        let mut args = Vec::with_capacity(list.args.len());
        for a in &list.args {
            match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => args.push(x),
                other => return Err(self.err("not a plain argument", other.to_string(), e.span())),
            }
        }
        if name == "json_extract" {
            return self.json_extract(&args, e, d);
        }
        let func = match (name.as_str(), args.len()) {
            ("log", 2) => (Func::LogBase, 2, 2),
            ("atan", 2) => (Func::Atan2, 2, 2),
            _ => FUNCTIONS
                .iter()
                .find(|(n, ..)| *n == name)
                .map(|(_, func, lo, hi)| (*func, *lo, *hi))
                .ok_or_else(|| self.err("unknown function", &name, f.name.span()))?,
        };
        let (func, lo, hi) = func;
        if args.len() < lo || args.len() > hi {
            let want = if lo == hi {
                format!("{lo}")
            } else {
                format!("{lo} to {hi}")
            };
            return Err(self.err(
                format!("{name} takes {want} argument(s), not {}", args.len()),
                e.to_string(),
                e.span(),
            ));
        }
        let mut nodes = Vec::with_capacity(args.len());
        for (i, x) in args.iter().enumerate() {
            let n = self.expr(x, d)?;
            if func == Func::If && i == 0 && !n.is_condition() {
                return Err(self.err(
                    "expected a true/false condition here",
                    x.to_string(),
                    x.span(),
                ));
            }
            nodes.push(n);
        }
        Ok(Node::Call(func, nodes))
    }

    /// `json_extract(t.classdict, '$.a.b')`: a column and a literal path of plain keys.
    /// Lasair's docs use it on annotators' `classdict`.
    fn json_extract(&self, args: &[&Expr], e: &Expr, d: usize) -> Result<Node, QueryError> {
        let [col, path] = args else {
            return Err(self.err(
                "json_extract takes a column and a path",
                e.to_string(),
                e.span(),
            ));
        };
        let col_node = self.expr(col, d)?;
        if !matches!(col_node, Node::Col(..)) {
            return Err(self.err(
                "json_extract's first argument must be a column",
                col.to_string(),
                col.span(),
            ));
        }
        let Node::Str(p) = self.expr(path, d)? else {
            return Err(self.err(
                "json_extract's path must be a string like '$.key.key'",
                path.to_string(),
                path.span(),
            ));
        };
        let keys: Option<Vec<String>> = p
            .strip_prefix("$.")
            .map(|rest| rest.split('.').map(str::to_string).collect());
        let ok = keys.as_ref().is_some_and(|ks| {
            ks.len() <= 8
                && ks.iter().all(|k| {
                    !k.is_empty()
                        && k.len() <= 64
                        && k.chars().all(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' ' | '+')
                        })
                })
        });
        match keys {
            Some(keys) if ok => Ok(Node::JsonExtract(Box::new(col_node), keys)),
            _ => Err(self.err(
                "json_extract's path must be '$.key' or '$.key.key…' with keys of letters, digits, _ - + and spaces",
                &p,
                path.span(),
            )),
        }
    }
}

fn single_ident(name: &ObjectName) -> Option<&Ident> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] => Some(id),
        _ => None,
    }
}

/// A numeric literal as the tokenizer gives it: digits, at most one point, an optional
/// exponent. Checked again here because it is the one piece of user text rendered
/// into SQL verbatim.
fn valid_number(s: &str) -> bool {
    s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && s.parse::<f64>().is_ok_and(f64::is_finite)
}
