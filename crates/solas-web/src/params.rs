//! Request parameters, wherever they come from, checked the way Lasair's DRF serializers
//! check them.
//!
//! Lasair's views read `request.GET` for GET and `request.data` (form or JSON body) for
//! POST. [`Params`] takes the query string and, for a body, lays the body's fields over it,
//! so a POST with its parameters in the URL works too. Values keep their JSON type when
//! they came as JSON: a 64-bit `objectId` sent as a JSON number is read as an integer,
//! never through a float.
//!
//! [`Check`] reads typed values and collects every problem, field by field, with DRF's
//! messages, so a bad request is answered with all its errors at once:
//! `{"ra": ["A valid number is required."], "requestType": ["This field is required."]}`.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{FromRequest, Request};
use axum::http::{header, Method};
use serde_json::Value;

use crate::error::ApiError;

/// Largest request body read (an `annotatelist` of a few thousand annotations fits).
pub(crate) const MAX_BODY: usize = 4 * 1024 * 1024;

#[derive(Debug, Default)]
pub(crate) struct Params {
    values: HashMap<String, Value>,
    /// The survey the request's base path names (`/ztf/api/`), if any.
    base_survey: Option<solas_core::Survey>,
}

/// The survey a group of routes answers for by default (`/ztf/api/` is ZTF), put in the
/// request's extensions by its router.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BaseSurvey(pub solas_core::Survey);

impl Params {
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// The fields of a JSON object (one element of `annotatelist`).
    pub(crate) fn from_map(map: serde_json::Map<String, Value>) -> Params {
        Params {
            base_survey: None,
            values: map.into_iter().collect(),
        }
    }

    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, Value)]) -> Params {
        Params {
            base_survey: None,
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }
}

fn form_pairs(bytes: &[u8], into: &mut HashMap<String, Value>) {
    // Django's QueryDict answers a repeated key with its last value; so does this.
    for (k, v) in form_urlencoded::parse(bytes) {
        into.insert(k.into_owned(), Value::String(v.into_owned()));
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Params, ApiError> {
        Params::read(req, MAX_BODY).await
    }
}

impl Params {
    /// The query string's and the body's parameters, reading at most `limit` bytes of body.
    pub(crate) async fn read(req: Request, limit: usize) -> Result<Params, ApiError> {
        let (parts, body) = req.into_parts();
        let base_survey = parts.extensions.get::<BaseSurvey>().map(|b| b.0);
        let mut values = HashMap::new();
        if let Some(query) = parts.uri.query() {
            form_pairs(query.as_bytes(), &mut values);
        }
        if parts.method == Method::GET || parts.method == Method::HEAD {
            return Ok(Params {
                values,
                base_survey,
            });
        }
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
            if crate::server::body_timed_out(&e) {
                ApiError::BodyTimeout
            } else {
                ApiError::PayloadTooLarge(limit)
            }
        })?;
        if bytes.is_empty() {
            return Ok(Params {
                values,
                base_survey,
            });
        }
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/x-www-form-urlencoded");
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime == "application/json" || mime.ends_with("+json") {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => values.extend(map),
                Ok(_) => {
                    return Err(ApiError::Fields(BTreeMap::from([(
                        "non_field_errors".to_string(),
                        vec!["Invalid data. Expected a dictionary.".to_string()],
                    )])))
                }
                Err(e) => return Err(ApiError::Parse(format!("JSON parse error - {e}"))),
            }
        } else if mime == "application/x-www-form-urlencoded" || mime.is_empty() {
            form_pairs(&bytes, &mut values);
        } else {
            return Err(ApiError::UnsupportedMediaType(content_type.to_string()));
        }
        Ok(Params {
            values,
            base_survey,
        })
    }
}

const REQUIRED: &str = "This field is required.";

/// Typed reading of [`Params`], collecting DRF-style field errors.
pub(crate) struct Check<'a> {
    params: &'a Params,
    errors: BTreeMap<String, Vec<String>>,
}

/// DRF's `BooleanField` spellings.
fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim() {
            "t" | "T" | "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on"
            | "On" | "ON" | "1" => Some(true),
            "f" | "F" | "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off"
            | "Off" | "OFF" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An integer, exactly: JSON integers as they are, text as decimal digits (with Python's
/// tolerance of a trailing `.0`), JSON floats only when integral and below 2^53 (beyond
/// that the sender's float has already lost digits).
fn parse_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let x = n.as_f64()?;
            (x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0).then_some(x as i64)
        }),
        Value::String(s) => {
            let t = s.trim();
            let t = match t.split_once('.') {
                Some((whole, zeros)) if zeros.chars().all(|c| c == '0') => whole,
                _ => t,
            };
            t.parse().ok()
        }
        _ => None,
    }
}

fn parse_float(v: &Value) -> Option<f64> {
    let x = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    x.is_finite().then_some(x)
}

/// Text as DRF's `CharField` takes it: strings (trimmed), numbers in their exact decimal
/// form; never booleans, lists or objects.
fn parse_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl<'a> Check<'a> {
    pub(crate) fn new(params: &'a Params) -> Check<'a> {
        Check {
            params,
            errors: BTreeMap::new(),
        }
    }

    /// The survey the request's base path names, if any ([`BaseSurvey`]).
    pub(crate) fn base_survey(&self) -> Option<solas_core::Survey> {
        self.params.base_survey
    }

    pub(crate) fn fail(&mut self, name: &str, message: impl Into<String>) {
        self.errors
            .entry(name.to_string())
            .or_default()
            .push(message.into());
    }

    pub(crate) fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The value, or None when absent (recording "required" when `required`).
    fn value(&mut self, name: &str, required: bool) -> Option<&'a Value> {
        match self.params.get(name) {
            Some(Value::Null) => {
                self.fail(name, "This field may not be null.");
                None
            }
            Some(v) => Some(v),
            None => {
                if required {
                    self.fail(name, REQUIRED);
                }
                None
            }
        }
    }

    /// A finite number; `default` None makes it required. NaN on error.
    pub(crate) fn float(&mut self, name: &str, default: Option<f64>) -> f64 {
        match self.value(name, default.is_none()) {
            None => default.unwrap_or(f64::NAN),
            Some(v) => parse_float(v).unwrap_or_else(|| {
                self.fail(name, "A valid number is required.");
                f64::NAN
            }),
        }
    }

    /// An optional integer within [min, max].
    pub(crate) fn opt_int(
        &mut self,
        name: &str,
        min: Option<i64>,
        max: Option<i64>,
    ) -> Option<i64> {
        let v = self.value(name, false)?;
        let Some(n) = parse_int(v) else {
            self.fail(name, "A valid integer is required.");
            return None;
        };
        if let Some(max) = max.filter(|m| n > *m) {
            self.fail(
                name,
                format!("Ensure this value is less than or equal to {max}."),
            );
            return None;
        }
        if let Some(min) = min.filter(|m| n < *m) {
            self.fail(
                name,
                format!("Ensure this value is greater than or equal to {min}."),
            );
            return None;
        }
        Some(n)
    }

    /// A required integer (0 on error).
    pub(crate) fn int(&mut self, name: &str) -> i64 {
        if self.params.get(name).is_none() {
            self.fail(name, REQUIRED);
            return 0;
        }
        self.opt_int(name, None, None).unwrap_or(0)
    }

    pub(crate) fn boolean(&mut self, name: &str, default: bool) -> bool {
        match self.value(name, false) {
            None => default,
            Some(v) => parse_bool(v).unwrap_or_else(|| {
                self.fail(name, "Must be a valid boolean.");
                default
            }),
        }
    }

    /// Text of at most `max_chars`; `default` None makes it required; blank text is an
    /// error unless `allow_blank`.
    pub(crate) fn text(
        &mut self,
        name: &str,
        max_chars: usize,
        allow_blank: bool,
        default: Option<&str>,
    ) -> String {
        let Some(v) = self.value(name, default.is_none()) else {
            return default.unwrap_or_default().to_string();
        };
        let Some(s) = parse_text(v) else {
            self.fail(name, "Not a valid string.");
            return String::new();
        };
        if s.is_empty() && !allow_blank {
            self.fail(name, "This field may not be blank.");
        } else if s.chars().count() > max_chars {
            self.fail(
                name,
                format!("Ensure this field has no more than {max_chars} characters."),
            );
        }
        s
    }

    /// One of `choices`; `default` None makes it required.
    pub(crate) fn choice(
        &mut self,
        name: &str,
        choices: &[&'static str],
        default: Option<&'static str>,
    ) -> &'static str {
        let Some(v) = self.value(name, default.is_none()) else {
            return default.unwrap_or("");
        };
        let given = parse_text(v).unwrap_or_default();
        match choices.iter().find(|c| **c == given) {
            Some(c) => c,
            None => {
                self.fail(name, format!("\"{given}\" is not a valid choice."));
                ""
            }
        }
    }

    /// The raw JSON value of a field (for lists).
    pub(crate) fn raw(&mut self, name: &str) -> Option<&'a Value> {
        self.value(name, true)
    }

    /// Err with every field error collected, if any.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Fields(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_read_as_drf_reads_them() {
        let p = Params::from_pairs(&[
            ("ra", json!("10.5")),
            ("dec", json!(-45)),
            ("lite", json!("True")),
            ("lasair_added", json!(false)),
            ("id_text", json!("169298432598474793")),
            ("id_json", json!(169298432598474793i64)),
            ("id_float", json!(12.0)),
            ("id_dot", json!("12.00")),
            ("name", json!("  SN  ")),
        ]);
        let mut c = Check::new(&p);
        assert_eq!(c.float("ra", None), 10.5);
        assert_eq!(c.float("dec", None), -45.0);
        assert!(c.boolean("lite", false));
        assert!(!c.boolean("lasair_added", true));
        assert!(c.boolean("absent", true));
        assert_eq!(c.int("id_text"), 169298432598474793);
        assert_eq!(c.int("id_json"), 169298432598474793);
        assert_eq!(c.int("id_float"), 12);
        assert_eq!(c.int("id_dot"), 12);
        assert_eq!(c.text("name", 10, false, None), "SN");
        assert_eq!(c.text("version", 10, false, Some("0.1")), "0.1");
        assert!(c.ok());
        c.finish().unwrap();
    }

    #[test]
    fn every_bad_field_is_reported() {
        let p = Params::from_pairs(&[
            ("ra", json!("ten")),
            ("dec", json!("nan")),
            ("limit", json!(2_000_000)),
            ("offset", json!(-1)),
            ("lite", json!("maybe")),
            ("objectId", json!(1.5e20)),
            ("selected", json!("  ")),
            ("requestType", json!("some")),
            ("classdict", json!({"a": 1})),
            ("nul", Value::Null),
        ]);
        let mut c = Check::new(&p);
        c.float("ra", None);
        c.float("dec", None);
        c.float("radius", None);
        c.opt_int("limit", Some(0), Some(1_000_000));
        c.opt_int("offset", Some(0), None);
        c.boolean("lite", false);
        c.int("objectId");
        c.text("selected", 4096, false, None);
        c.choice("requestType", &["all", "nearest", "count"], None);
        c.text("classdict", 4096, false, None);
        c.text("nul", 10, true, Some(""));
        let Err(ApiError::Fields(errors)) = c.finish() else {
            panic!("errors expected")
        };
        let msg = |k: &str| errors[k][0].clone();
        assert_eq!(msg("ra"), "A valid number is required.");
        assert_eq!(msg("dec"), "A valid number is required.");
        assert_eq!(msg("radius"), "This field is required.");
        assert_eq!(
            msg("limit"),
            "Ensure this value is less than or equal to 1000000."
        );
        assert_eq!(
            msg("offset"),
            "Ensure this value is greater than or equal to 0."
        );
        assert_eq!(msg("lite"), "Must be a valid boolean.");
        assert_eq!(msg("objectId"), "A valid integer is required.");
        assert_eq!(msg("selected"), "This field may not be blank.");
        assert_eq!(msg("requestType"), "\"some\" is not a valid choice.");
        assert_eq!(msg("classdict"), "Not a valid string.");
        assert_eq!(msg("nul"), "This field may not be null.");
        assert_eq!(errors.len(), 11);
    }
}
