//! The OpenAPI 3 description of the API, served at `/api/openapi.json`. It is built from
//! [`ENDPOINTS`], one table listing every endpoint, its methods and every parameter with
//! its type, default and limits; the tests check the table against the router.

use axum::Json;
use serde_json::{json, Map, Value};

/// A parameter's JSON-schema type.
#[derive(Clone, Copy)]
pub(crate) enum Type {
    Number,
    Integer,
    Boolean,
    String,
    /// `annotatelist`'s list of annotation objects.
    List,
}

pub(crate) struct Param {
    pub name: &'static str,
    pub ty: Type,
    pub required: bool,
    /// The default, as JSON text (`"1000"`, `"false"`, `"\"lsst\""`).
    pub default: Option<&'static str>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub max_length: Option<u64>,
    pub choices: &'static [&'static str],
    pub description: &'static str,
}

const fn p(name: &'static str, ty: Type, required: bool, description: &'static str) -> Param {
    Param {
        name,
        ty,
        required,
        default: None,
        minimum: None,
        maximum: None,
        max_length: None,
        choices: &[],
        description,
    }
}

impl Param {
    const fn default(mut self, d: &'static str) -> Param {
        self.default = Some(d);
        self
    }
    const fn range(mut self, min: Option<f64>, max: Option<f64>) -> Param {
        self.minimum = min;
        self.maximum = max;
        self
    }
    const fn max_len(mut self, n: u64) -> Param {
        self.max_length = Some(n);
        self
    }
    const fn choices(mut self, c: &'static [&'static str]) -> Param {
        self.choices = c;
        self
    }
}

pub(crate) struct Endpoint {
    pub path: &'static str,
    pub methods: &'static [&'static str],
    pub summary: &'static str,
    pub description: &'static str,
    pub authenticated: bool,
    pub params: &'static [Param],
    /// An example answer (JSON; for a file, a JSON string of its text).
    pub example: &'static str,
    /// The answer's media types, the example's first.
    pub media: &'static [&'static str],
}

const JSON: &[&str] = &["application/json"];

const SURVEY: Param = p(
    "survey",
    Type::String,
    false,
    "Which survey's objects (Solas extension; default: the server's survey).",
)
.choices(&["lsst", "ztf"]);

const ANNOTATION_FIELDS: &[Param] = &[
    p(
        "objectId",
        Type::Integer,
        true,
        "diaObjectId (Rubin, a 64-bit integer) or ZTF objectId.",
    ),
    p(
        "topic",
        Type::String,
        true,
        "An annotator topic the caller owns; it must be active.",
    )
    .max_len(255),
    p(
        "classification",
        Type::String,
        true,
        "Short classification.",
    )
    .max_len(80),
    p(
        "version",
        Type::String,
        true,
        "Version of the annotating code.",
    )
    .max_len(80),
    p(
        "explanation",
        Type::String,
        true,
        "Natural-language explanation (may be blank).",
    )
    .max_len(1024),
    p(
        "classdict",
        Type::String,
        true,
        "A JSON object, as text, with further information.",
    )
    .max_len(4096),
    p(
        "url",
        Type::String,
        true,
        "A link to more information (may be blank).",
    )
    .max_len(1024),
    SURVEY,
];

pub(crate) const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        path: "/api/cone/",
        methods: &["get", "post"],
        summary: "Cone search",
        description: "Objects within `radius` arcsec of a position, nearest first.",
        authenticated: true,
        params: &[
            p("ra", Type::Number, true, "Right ascension, degrees.").range(Some(0.0), Some(360.0)),
            p("dec", Type::Number, true, "Declination, degrees.").range(Some(-90.0), Some(90.0)),
            p("radius", Type::Number, true, "Radius, arcsec; over 1000 is an error.")
                .range(Some(0.0), Some(1000.0)),
            p("requestType", Type::String, true, "`all` objects, the `nearest`, or their `count`.")
                .choices(&["all", "nearest", "count"]),
            SURVEY,
        ],
        example: r#"{"objects": [{"object": 169298432598474793, "separation": 0.42}], "count": 1, "nearest": {"object": 169298432598474793, "separation": 0.42}}"#,
        media: JSON,
    },
    Endpoint {
        path: "/api/query/",
        methods: &["get", "post"],
        summary: "Run a filter over the database",
        description: "Lasair's three-part query, checked against Solas's whitelist and run read-only with a time limit. Rows returned are capped by the caller's class: 1,000 (public token), 10,000 (users), 1,000,000 (power users). Other users' private watchlists and watchmaps are refused.",
        authenticated: true,
        params: &[
            p("selected", Type::String, true, "The SELECT list, e.g. `objects.diaObjectId, objects.g_psfFlux`.").max_len(4096),
            p("tables", Type::String, true, "Comma-separated tables: `objects`, `sherlock_classifications`, `consensus`, `counterparts`, `mining:N`, `watchlist:N`, `watchmap:N`, `annotator:TOPIC`, `crossmatch_tns`, `tag:LABEL`.").max_len(1024),
            p("conditions", Type::String, true, "The WHERE clause, optionally with ORDER BY (may be blank).").max_len(4096),
            p("limit", Type::Integer, false, "Rows to return.").default("1000").range(Some(0.0), Some(1_000_000.0)),
            p("offset", Type::Integer, false, "Rows to skip.").default("0").range(Some(0.0), None),
            SURVEY,
        ],
        example: r#"[{"diaObjectId": 169298432598474793, "g_psfFlux": 3028.1}]"#,
        media: JSON,
    },
    Endpoint {
        path: "/api/object/",
        methods: &["get", "post"],
        summary: "One object: its row, lightcurve, context, TNS match, annotations, cutout links",
        description: "With `lasair_added` (default): diaObjectId, diaObject, diaSourcesList (newest first), diaForcedSourcesList and lasairData. Without: diaObjectId, diaObject (every field of Rubin's newest diaObject, unless lite), diaSourcesList, diaForcedSourcesList, diaNondetectionLimitsList. 404 when the object is unknown. Unless lite, each source carries every field Rubin sent; lite keeps Lasair's lite columns.",
        authenticated: true,
        params: &[
            p("objectId", Type::String, true, "diaObjectId (Rubin) or objectId (ZTF)."),
            p("lite", Type::Boolean, false, "Fewer columns.").default("false"),
            p("lasair_added", Type::Boolean, false, "Add the objects row, context, TNS and annotations.").default("true"),
            p("reliabilityThreshold", Type::Number, false, "Leave out sources with a lower reliability.").default("0"),
            p("asOf", Type::Number, false, "MJD (TAI for Rubin): also give `featuresAsOf`, the features row as the broker would have computed it from the sources observed up to then."),
            SURVEY,
        ],
        example: r#"{"diaObjectId": 169298432598474793, "diaObject": {"ra": 10.37, "decl": -45.24, "firstDiaSourceMjdTai": 60924.33, "lastDiaSourceMjdTai": 60924.33}, "diaSourcesList": [], "diaForcedSourcesList": [], "lasairData": {}}"#,
        media: JSON,
    },
    Endpoint {
        path: "/api/export/",
        methods: &["get", "post"],
        summary: "Every field of chosen objects' sources, as a file",
        description: "Choose objects one way (objectIds, a cone, or a filter's tables and conditions, checked as /api/query/ checks them) and/or a time window (since, until); get every field the survey sent for each of their detections, forced measurements or non-detections, streamed as CSV, JSON lines, VOTable or Parquet, one row per source, the object's id first. Rows are capped at 100 times the caller's query row limit (`X-Solas-Row-Limit`; a cut VOTable says QUERY_STATUS OVERFLOW). A failure after the first bytes ends the transfer unfinished.",
        authenticated: true,
        params: &[
            p("objectIds", Type::String, false, "Comma-separated diaObjectIds (Rubin) or objectIds (ZTF).").max_len(100_000),
            p("ra", Type::Number, false, "Cone centre, degrees (with dec and radius).").range(Some(0.0), Some(360.0)),
            p("dec", Type::Number, false, "Cone centre, degrees.").range(Some(-90.0), Some(90.0)),
            p("radius", Type::Number, false, "Cone radius, arcsec.").range(Some(0.0), Some(1000.0)),
            p("tables", Type::String, false, "A filter's tables, as /api/query/.").max_len(1024),
            p("conditions", Type::String, false, "A filter's WHERE clause, as /api/query/.").max_len(4096),
            p("since", Type::Number, false, "Sources observed at or after this MJD (TAI for Rubin)."),
            p("until", Type::Number, false, "Sources observed before this MJD."),
            p("kind", Type::String, false, "Which sources.").default("\"sources\"").choices(&["sources", "forced", "nondetections"]),
            p("format", Type::String, false, "The file format.").default("\"csv\"").choices(&["csv", "jsonl", "votable", "parquet"]),
            SURVEY,
        ],
        example: r#""diaObjectId,diaSourceId,visit,detector,...,midpointMjdTai,ra,...\n169298432598474793,169298432757858307,2025090500123,42,...,60923.27,10.37,...\n""#,
        media: &["text/csv", "application/x-ndjson", "application/x-votable+xml", "application/vnd.apache.parquet"],
    },
    Endpoint {
        path: "/api/ledger/",
        methods: &["get", "post"],
        summary: "The completeness ledger: what each stage did with each visit's alerts",
        description: "Solas's own. Per night (YYYYMMDD, the date the night began at the site) and visit (Rubin's visit; ZTF's field): the alerts decoded, stored, classified, filtered and delivered (null for a stage no worker ran that night), the sources later alerts' histories show from the visit whose own alerts never came (`missing`), exposures known only from histories (`unreceived_exposures`), the visits where alerts were lost (`short_visits`) and the area of the sky the night's alerts covered. Without `night`, the newest 7 nights.",
        authenticated: true,
        params: &[
            p("night", Type::Integer, false, "The night, YYYYMMDD.").range(Some(19_000_101.0), Some(99_991_231.0)),
            p("survey", Type::String, false, "One survey's nights (default: both).").choices(&["lsst", "ztf"]),
        ],
        example: r#"[{"survey": "lsst", "night": 20250905, "sky_deg2": 3.0, "steps_run": ["decoded", "stored", "filtered", "delivered"], "short_visits": [], "visits": [{"visit": 2025090500226, "mjd": 60924.33087, "decoded": 30, "stored": 30, "classified": null, "filtered": 30, "delivered": 30, "missing": []}], "unreceived_exposures": []}]"#,
        media: JSON,
    },
    Endpoint {
        path: "/api/sherlock/object/",
        methods: &["get", "post"],
        summary: "Context classification of an object",
        description: "Classified now against the loaded catalogues, in the shape of Lasair's Sherlock service. 404 when the object is unknown; 400 when the server has no catalogues.",
        authenticated: true,
        params: &[
            p("objectId", Type::Integer, true, "diaObjectId (Rubin) or objectId (ZTF)."),
            p("lite", Type::Boolean, false, "Only the top-ranked crossmatch.").default("false"),
            SURVEY,
        ],
        example: r#"{"classifications": {"169298432598474793": ["ORPHAN", "The transient is not obviously associated with any catalogued galaxy nor is it coincident with a known stellar source."]}, "crossmatches": []}"#,
        media: JSON,
    },
    Endpoint {
        path: "/api/sherlock/position/",
        methods: &["get", "post"],
        summary: "Context classification of a position",
        description: "As /api/sherlock/object/, for a position; the answer names it `query0`.",
        authenticated: true,
        params: &[
            p("ra", Type::Number, true, "Right ascension, degrees.").range(Some(0.0), Some(360.0)),
            p("dec", Type::Number, true, "Declination, degrees.").range(Some(-90.0), Some(90.0)),
            p("lite", Type::Boolean, false, "Only the top-ranked crossmatch.").default("false"),
        ],
        example: r#"{"classifications": {"query0": ["SN", "..."]}, "crossmatches": [{"transient_object_id": "query0", "association_type": "SN", "catalogue_object_id": "NGC7814", "separationArcsec": 7.85, "rank": 1}]}"#,
        media: JSON,
    },
    Endpoint {
        path: "/api/annotate/",
        methods: &["post"],
        summary: "Annotate an object",
        description: "Store the caller's annotation of one object under an annotator topic they own (one per object and topic; a new one replaces the old).",
        authenticated: true,
        params: ANNOTATION_FIELDS,
        example: r#"{"status": "success", "annotation_topic": "annotation_events", "message": "{\"diaObjectId\": 169298432598474793, \"topic\": \"mytopic\", ...}"}"#,
        media: JSON,
    },
    Endpoint {
        path: "/api/annotatelist/",
        methods: &["post"],
        summary: "Annotate many objects",
        description: "A JSON body `{\"annotations\": [{objectId, topic, classification, version, explanation, classdict, url}, ...]}` (at most 10,000). Every annotation is checked before any is written.",
        authenticated: true,
        params: &[
            p("annotations", Type::List, true, "The annotations, each with the fields of /api/annotate/."),
            SURVEY,
        ],
        example: r#"{"status": "success", "n": 2}"#,
        media: JSON,
    },
    Endpoint {
        path: "/api/auth-token/",
        methods: &["post"],
        summary: "Get an API token",
        description: "Trade a username and password for a new API token (40 hex digits). Limited per client address.",
        authenticated: false,
        params: &[
            p("username", Type::String, true, "Username.").max_len(150),
            p("password", Type::String, true, "Password."),
        ],
        example: r#"{"token": "0123456789abcdef0123456789abcdef01234567"}"#,
        media: JSON,
    },
];

fn schema(param: &Param) -> Value {
    let mut s = Map::new();
    let ty = match param.ty {
        Type::Number => "number",
        Type::Integer => "integer",
        Type::Boolean => "boolean",
        Type::String => "string",
        Type::List => "array",
    };
    s.insert("type".into(), json!(ty));
    if matches!(param.ty, Type::Integer) {
        s.insert("format".into(), json!("int64"));
    }
    if matches!(param.ty, Type::List) {
        s.insert(
            "items".into(),
            json!({"$ref": "#/components/schemas/Annotation"}),
        );
    }
    if let Some(d) = param
        .default
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
    {
        s.insert("default".into(), d);
    }
    if let Some(m) = param.minimum {
        s.insert("minimum".into(), json!(m));
    }
    if let Some(m) = param.maximum {
        s.insert("maximum".into(), json!(m));
    }
    if let Some(n) = param.max_length {
        s.insert("maxLength".into(), json!(n));
    }
    if !param.choices.is_empty() {
        s.insert("enum".into(), json!(param.choices));
    }
    Value::Object(s)
}

fn operation(e: &Endpoint, method: &str) -> Value {
    let mut op = json!({
        "summary": e.summary,
        "description": e.description,
        "operationId": format!("{method}_{}", e.path.trim_matches('/').replace(['/', '-'], "_")),
        "responses": {
            "200": {
                "description": "The answer.",
                "content": e.media.iter().enumerate().map(|(i, m)| {
                    let example = if i == 0 { serde_json::from_str::<Value>(e.example).unwrap_or(Value::Null) } else { Value::Null };
                    (m.to_string(), json!({"example": example}))
                }).collect::<serde_json::Map<String, Value>>()
            },
            "400": {"description": "Bad parameters (`{\"field\": [\"message\"]}`) or a request that cannot be answered (`{\"error\": \"...\"}`)."},
            "401": {"description": "No token, or an invalid one (`{\"detail\": \"...\"}`)."},
            "404": {"description": "No such object."},
            "429": {"description": "Over the caller's hourly request limit (`{\"message\": \"Request limit exceeded...\"}`); see `Retry-After`."},
        }
    });
    if !e.authenticated {
        op["security"] = json!([]);
    }
    if method == "get" {
        op["parameters"] = Value::Array(
            e.params
                .iter()
                .filter(|p| !matches!(p.ty, Type::List))
                .map(|p| {
                    json!({
                        "name": p.name,
                        "in": "query",
                        "required": p.required,
                        "description": p.description,
                        "schema": schema(p),
                    })
                })
                .collect(),
        );
    } else {
        let properties: Map<String, Value> = e
            .params
            .iter()
            .map(|p| {
                let mut s = schema(p);
                s["description"] = json!(p.description);
                (p.name.to_string(), s)
            })
            .collect();
        let required: Vec<&str> = e
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name)
            .collect();
        let body = json!({"type": "object", "properties": properties, "required": required});
        let mut content = Map::new();
        if e.path != "/api/annotatelist/" {
            content.insert(
                "application/x-www-form-urlencoded".into(),
                json!({"schema": body.clone()}),
            );
        }
        content.insert("application/json".into(), json!({ "schema": body }));
        op["requestBody"] = json!({"required": true, "content": content});
    }
    op
}

/// The whole document.
pub(crate) fn document() -> Value {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let mut item = Map::new();
        for m in e.methods {
            item.insert(m.to_string(), operation(e, m));
        }
        paths.insert(e.path.to_string(), Value::Object(item));
    }
    paths.insert(
        "/api/openapi.json".into(),
        json!({"get": {
            "summary": "This document",
            "operationId": "get_openapi",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3 JSON."}}
        }}),
    );
    paths.insert(
        "/fits/{mjd}/{name}".into(),
        json!({"get": {
            "summary": "A cutout as FITS (the links in /api/object/ answers)",
            "operationId": "get_fits",
            "security": [],
            "parameters": [
                {"name": "mjd", "in": "path", "required": true, "schema": {"type": "integer"}, "description": "Night of the source (ignored)."},
                {"name": "name", "in": "path", "required": true, "schema": {"type": "string"}, "description": "`<sourceId>_cutout<Science|Template|Difference>`."},
                {"name": "survey", "in": "query", "required": false, "schema": {"type": "string", "enum": ["lsst", "ztf"]}}
            ],
            "responses": {"200": {"description": "FITS bytes.", "content": {"image/fits": {}}}, "404": {"description": "No such cutout."}}
        }}),
    );
    let annotation_properties: Map<String, Value> = ANNOTATION_FIELDS
        .iter()
        .filter(|p| p.name != "survey")
        .map(|p| (p.name.to_string(), schema(p)))
        .collect();
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Solas REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Lasair's REST API as served by Solas: the `lasair` Python client works unchanged with `endpoint='http(s)://<host>/api'` (Rubin) or `endpoint='http(s)://<host>/ztf/api'` (ZTF: the same paths under /ztf, where `objects` is the ZTF objects table). Every endpoint but /api/auth-token/ needs a token, sent as `Authorization: Token <key>` or `?token=<key>`. Requests per hour: 10 (public token), 100 (users), 10,000 (power users).",
            "license": {"name": "Apache-2.0"}
        },
        "servers": [{"url": "/"}],
        "security": [{"TokenHeader": []}, {"TokenQuery": []}],
        "components": {
            "securitySchemes": {
                "TokenHeader": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`Token <40 hex digits>`"},
                "TokenQuery": {"type": "apiKey", "in": "query", "name": "token"}
            },
            "schemas": {
                "Annotation": {"type": "object", "properties": annotation_properties}
            }
        },
        "paths": paths,
    })
}

pub(crate) async fn handle() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_lists_every_endpoint_with_valid_defaults() {
        let doc = document();
        for path in [
            "/api/cone/",
            "/api/query/",
            "/api/object/",
            "/api/export/",
            "/api/sherlock/object/",
            "/api/sherlock/position/",
            "/api/annotate/",
            "/api/annotatelist/",
            "/api/auth-token/",
        ] {
            assert!(doc["paths"][path].is_object(), "{path}");
        }
        for e in ENDPOINTS {
            for p in e.params {
                if let Some(d) = p.default {
                    assert!(serde_json::from_str::<Value>(d).is_ok(), "{}", p.name);
                }
            }
            assert!(
                serde_json::from_str::<Value>(e.example).is_ok(),
                "{}",
                e.path
            );
        }
        let cone = &doc["paths"]["/api/cone/"]["get"]["parameters"];
        let names: Vec<&str> = cone
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["ra", "dec", "radius", "requestType", "survey"]);
    }
}
