//! The SQL functions the rendered SQLite text calls that SQLite builds without
//! `SQLITE_ENABLE_MATH_FUNCTIONS` (rusqlite's bundled build) lack. Whoever opens a
//! connection that runs filters calls [`register_sqlite_functions`] once. NULL or
//! non-numeric input gives NULL, and so does a non-finite result, as in MySQL.

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;

fn num(ctx: &Context, i: usize) -> Option<f64> {
    match ctx.get_raw(i) {
        ValueRef::Integer(v) => Some(v as f64),
        ValueRef::Real(v) => Some(v),
        _ => None,
    }
}

fn out(v: Option<f64>) -> Value {
    match v {
        Some(x) if x.is_finite() => Value::Real(x),
        _ => Value::Null,
    }
}

type F1 = fn(f64) -> f64;
type F2 = fn(f64, f64) -> f64;

/// Registers sqrt, log10, ln, exp, power, sin, cos, tan, asin, acos, atan, atan2,
/// degrees, radians, floor, ceil and pi on `conn`.
pub fn register_sqlite_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    let one: &[(&str, F1)] = &[
        ("sqrt", f64::sqrt),
        ("log10", f64::log10),
        ("ln", f64::ln),
        ("exp", f64::exp),
        ("sin", f64::sin),
        ("cos", f64::cos),
        ("tan", f64::tan),
        ("asin", f64::asin),
        ("acos", f64::acos),
        ("atan", f64::atan),
        ("degrees", f64::to_degrees),
        ("radians", f64::to_radians),
        ("floor", f64::floor),
        ("ceil", f64::ceil),
    ];
    for &(name, f) in one {
        conn.create_scalar_function(name, 1, flags, move |ctx| Ok(out(num(ctx, 0).map(f))))?;
    }
    let two: &[(&str, F2)] = &[("power", f64::powf), ("atan2", f64::atan2)];
    for &(name, f) in two {
        conn.create_scalar_function(name, 2, flags, move |ctx| {
            Ok(out(num(ctx, 0).zip(num(ctx, 1)).map(|(a, b)| f(a, b))))
        })?;
    }
    conn.create_scalar_function("pi", 0, flags, |_| Ok(std::f64::consts::PI))?;
    Ok(())
}
