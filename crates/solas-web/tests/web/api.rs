//! The REST API on real data: the shared Rubin and ZTF alerts ingested by the pipeline,
//! three real catalogues loaded. Requests go through the router in process
//! (`tower::ServiceExt::oneshot`), except where the connection matters (client address,
//! stopping the server), which use a real TCP port.

use crate::common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use solas_store::main_db::annotations::{AnnotationStore, Annotator};
use solas_web::{AppState, ServeConfig, UserClass};
use tower::ServiceExt;

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
    bytes: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    #[track_caller]
    fn ok(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        self.json()
    }
}

struct Api {
    app: Router,
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Api {
    fn new(config: ServeConfig) -> Api {
        Api {
            app: solas_web::router(common::sync(|| AppState::open(config)).expect("server state")),
        }
    }

    fn on_shared_data() -> Api {
        Api::new(config(common::shared_data()))
    }

    async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        Resp {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
        }
    }

    fn request(method: Method, uri: &str, token: Option<&str>) -> axum::http::request::Builder {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "solas.test");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Token {t}"));
        }
        b
    }

    async fn get(&self, path: &str, token: Option<&str>, pairs: &[(&str, &str)]) -> Resp {
        let uri = format!("{path}?{}", form(pairs));
        self.send(
            Self::request(Method::GET, &uri, token)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// GET `path` as given (its query string included), as a link would.
    async fn get_link(&self, path: &str) -> Resp {
        self.send(
            Self::request(Method::GET, path, None)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn post(&self, path: &str, token: Option<&str>, pairs: &[(&str, &str)]) -> Resp {
        self.send(
            Self::request(Method::POST, path, token)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form(pairs)))
                .unwrap(),
        )
        .await
    }

    async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send(
            Self::request(Method::POST, path, token)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }
}

fn config(data: &Path) -> ServeConfig {
    common::serve_config(data)
}

/// A new user of the shared data directory: (id, token).
fn user(name: &str, class: UserClass) -> (i64, String) {
    common::with_users(|users| {
        users.add_user(
            name,
            &format!("{name}@example.org"),
            Some("a long enough password"),
            class,
        )
    })
    .expect("user")
}

const ENDPOINTS: [&str; 9] = [
    "/api/cone/",
    "/api/ledger/",
    "/api/query/",
    "/api/object/",
    "/api/sherlock/object/",
    "/api/sherlock/position/",
    "/api/annotate/",
    "/api/annotatelist/",
    "/api/auth-token/",
];

#[tokio::test]
async fn authentication_is_required_and_checked() {
    let api = Api::on_shared_data();
    let (_, token) = user("auth_alice", UserClass::User);
    let cone = [
        ("ra", "10.0"),
        ("dec", "-45.0"),
        ("radius", "5"),
        ("requestType", "count"),
    ];
    for path in ENDPOINTS.iter().filter(|p| !p.contains("auth-token")) {
        let r = api.post(path, None, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.text);
        assert_eq!(
            r.json()["detail"],
            "Authentication credentials were not provided."
        );
        assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Token");
        for bad in ["0123456789abcdef0123456789abcdef01234567", "x' OR '1'='1"] {
            let r = api.post(path, Some(bad), &[]).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(r.json()["detail"], "Invalid token.");
        }
    }
    // Header, query-string token, and Bearer all authenticate.
    assert_eq!(
        api.get("/api/cone/", Some(&token), &cone).await.ok()["count"],
        0
    );
    let mut with_token = cone.to_vec();
    with_token.push(("token", &token));
    api.get("/api/cone/", None, &with_token).await.ok();
    let r = api
        .send(
            Request::get(format!("/api/cone/?{}", form(&cone)))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    r.ok();
    // An inactive user's token is refused.
    let (_, token_b) = user("auth_bob", UserClass::User);
    common::with_users(|store| store.set_active("auth_bob", false)).unwrap();
    let r = api.get("/api/cone/", Some(&token_b), &cone).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["detail"], "User inactive or deleted.");

    // /api/auth-token/: a password buys a new token that works; a wrong one is refused as DRF does.
    let r = api
        .post(
            "/api/auth-token/",
            None,
            &[
                ("username", "auth_alice"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    let new_token = r.ok()["token"].as_str().unwrap().to_string();
    assert_eq!(new_token.len(), 40);
    assert_ne!(new_token, token);
    api.get("/api/cone/", Some(&new_token), &cone).await.ok();
    api.get("/api/cone/", Some(&token), &cone).await.ok();
    let r = api
        .post_json(
            "/api/auth-token/",
            None,
            &json!({"username": "auth_alice", "password": "wrong password"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json(),
        json!({"non_field_errors": ["Unable to log in with provided credentials."]})
    );
    let r = api
        .post("/api/auth-token/", None, &[("username", "auth_alice")])
        .await;
    assert_eq!(r.json(), json!({"password": ["This field is required."]}));
    // The password's GET would put it in logs: POST only.
    let r = api.get("/api/auth-token/", None, &[]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn requests_beyond_the_class_rate_get_429() {
    let api = Api::on_shared_data();
    let (_, dummy) = user("rate_dummy", UserClass::Dummy);
    let (_, other) = user("rate_other", UserClass::User);
    let cone = [
        ("ra", "10.0"),
        ("dec", "-45.0"),
        ("radius", "5"),
        ("requestType", "count"),
    ];
    // Lasair's public token: 10 an hour. Bad requests count too (they reached the API).
    for i in 0..10 {
        let params: &[(&str, &str)] = if i == 3 { &[("ra", "x")] } else { &cone };
        let r = api.get("/api/cone/", Some(&dummy), params).await;
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "request {i}");
    }
    let r = api.get("/api/cone/", Some(&dummy), &cone).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.json()["message"],
        "Request limit exceeded. Either wait an hour, or see API documentation to increase your limits."
    );
    let wait: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&wait), "Retry-After {wait}");
    // Every endpoint shares the budget; other users keep theirs.
    let r = api.post("/api/query/", Some(&dummy), &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    api.get("/api/cone/", Some(&other), &cone).await.ok();
}

#[tokio::test]
async fn bad_parameters_are_400_with_drf_messages() {
    let api = Api::on_shared_data();
    let (_, token) = user("params_carol", UserClass::Power);
    let t = Some(token.as_str());
    let r = api
        .get(
            "/api/cone/",
            t,
            &[
                ("ra", "400"),
                ("dec", "-95"),
                ("radius", "-1"),
                ("requestType", "some"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json(),
        json!({
            "ra": ["ra must be between 0 and 360"],
            "dec": ["dec must be between -90 and 90"],
            "radius": ["radius must be positive"],
            "requestType": ["\"some\" is not a valid choice."],
        })
    );
    let r = api.get("/api/cone/", t, &[("ra", "1"), ("dec", "1")]).await;
    assert_eq!(
        r.json(),
        json!({"radius": ["This field is required."], "requestType": ["This field is required."]})
    );
    let r = api
        .get(
            "/api/cone/",
            t,
            &[
                ("ra", "1"),
                ("dec", "1"),
                ("radius", "1001"),
                ("requestType", "all"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json(), json!({"error": "Max radius is 1000 arcsec."}));
    let r = api
        .post(
            "/api/query/",
            t,
            &[
                ("selected", "objects.diaObjectId"),
                ("tables", "objects"),
                ("conditions", ""),
                ("limit", "1000001"),
                ("offset", "-3"),
            ],
        )
        .await;
    assert_eq!(
        r.json(),
        json!({
            "limit": ["Ensure this value is less than or equal to 1000000."],
            "offset": ["Ensure this value is greater than or equal to 0."],
        })
    );
    let r = api
        .post(
            "/api/query/",
            t,
            &[("selected", " "), ("tables", "objects")],
        )
        .await;
    assert_eq!(
        r.json(),
        json!({
            "selected": ["This field may not be blank."],
            "conditions": ["This field is required."],
        })
    );
    let long = "x".repeat(4097);
    let r = api
        .post(
            "/api/query/",
            t,
            &[
                ("selected", &long),
                ("tables", "objects"),
                ("conditions", ""),
            ],
        )
        .await;
    assert_eq!(
        r.json()["selected"][0],
        "Ensure this field has no more than 4096 characters."
    );
    let r = api
        .get("/api/object/", t, &[("objectId", "1"), ("lite", "maybe")])
        .await;
    assert_eq!(r.json(), json!({"lite": ["Must be a valid boolean."]}));
    let r = api
        .get("/api/object/", t, &[("objectId", "ZTF21abiuvdk")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"].as_str().unwrap().contains("diaObjectId"));
    let r = api
        .get("/api/sherlock/object/", t, &[("objectId", "12.5")])
        .await;
    assert_eq!(
        r.json(),
        json!({"objectId": ["A valid integer is required."]})
    );
    // Bodies: JSON that is not an object, broken JSON, other media types, too much.
    let r = api.post_json("/api/cone/", t, &json!([1, 2])).await;
    assert_eq!(
        r.json(),
        json!({"non_field_errors": ["Invalid data. Expected a dictionary."]})
    );
    let r = api
        .send(
            Api::request(Method::POST, "/api/cone/", t)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{\"ra\": 1,"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .starts_with("JSON parse error"));
    let r = api
        .send(
            Api::request(Method::POST, "/api/cone/", t)
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from("ra,dec"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = api
        .send(
            Api::request(Method::POST, "/api/cone/", t)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(vec![b'a'; 5 * 1024 * 1024]))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Wrong method, unknown path.
    let r = api.get("/api/annotate/", t, &[]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["detail"], "Method \"GET\" not allowed.");
    let r = api.get("/api/nothing/", t, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["detail"], "Not found.");
}

#[tokio::test]
async fn hostile_sql_is_refused_and_changes_nothing() {
    let api = Api::on_shared_data();
    let (_, token) = user("sql_mallory", UserClass::Power);
    let count = || -> i64 {
        common::with_main(|db| {
            db.query_one("SELECT count(*) FROM objects", &[])
                .unwrap()
                .get(0)
                .unwrap()
        })
    };
    let before = count();
    assert!(before > 90);
    let attacks: &[(&str, &str, &str)] = &[
        ("objects.diaObjectId", "objects", "1=1; DROP TABLE objects"),
        (
            "objects.diaObjectId",
            "objects",
            "1=1 UNION SELECT token_sha256 FROM tokens",
        ),
        (
            "objects.diaObjectId",
            "objects",
            "objects.diaObjectId IN (SELECT user_id FROM tokens)",
        ),
        ("*", "users", ""),
        ("objects.diaObjectId", "objects, tokens", ""),
        ("password FROM users --", "objects", ""),
        ("objects.diaObjectId", "objects", "1=1 /* comment */"),
        ("objects.diaObjectId", "objects", "1=1 -- "),
        ("objects.diaObjectId", "objects", "1=1 LIMIT 1000000"),
        ("sleep(10)", "objects", ""),
        ("load_extension('x')", "objects", ""),
        (
            "objects.diaObjectId",
            "objects",
            "1=1 INTO OUTFILE '/tmp/x'",
        ),
        ("objects.diaObjectId", "objects", "objects.ra > 0) OR (1=1"),
        (
            "objects.diaObjectId",
            "objects",
            "ATTACH DATABASE 'users.db' AS u",
        ),
        ("objects.diaObjectId", "watchlist:1 OR 1=1", ""),
    ];
    for (selected, tables, conditions) in attacks {
        let r = api
            .post(
                "/api/query/",
                Some(&token),
                &[
                    ("selected", selected),
                    ("tables", tables),
                    ("conditions", conditions),
                ],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "accepted: {selected} | {tables} | {conditions}: {}",
            r.text
        );
        let message = r.json()["error"].as_str().unwrap().to_string();
        assert!(!message.is_empty());
    }
    assert_eq!(count(), before, "nothing was written");
}

#[tokio::test]
async fn other_users_private_watchlists_are_refused() {
    let api = Api::on_shared_data();
    let (owner, owner_token) = user("wl_owner", UserClass::User);
    let (_, other_token) = user("wl_other", UserClass::User);
    let wl_id: i64 = common::with_main(|db| {
        db.query_one(
            "INSERT INTO watchlists (owner, name, public) VALUES (?1, 'private list', 0)
             RETURNING wl_id",
            solas_store::args![owner],
        )
        .unwrap()
        .get(0)
        .unwrap()
    });
    let tables = format!("objects, watchlist:{wl_id}");
    let params = [
        ("selected", "objects.diaObjectId"),
        ("tables", tables.as_str()),
        ("conditions", ""),
    ];
    api.post("/api/query/", Some(&owner_token), &params)
        .await
        .ok();
    let r = api.post("/api/query/", Some(&other_token), &params).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.json()["error"].as_str().unwrap().contains("watchlist"),
        "{}",
        r.text
    );
    common::with_main(|db| {
        db.execute(
            "UPDATE watchlists SET public = 1 WHERE wl_id = ?1",
            solas_store::args![wl_id],
        )
        .unwrap()
    });
    api.post("/api/query/", Some(&other_token), &params)
        .await
        .ok();
}

#[tokio::test]
async fn the_query_time_limit_stops_long_queries() {
    let data = common::shared_data();
    let (_, token) = user("slow_sam", UserClass::Power);
    // A condition with many terms per row: well over SQLite's 10,000-step check interval.
    let conditions = (0..100)
        .map(|i| format!("objects.ra*objects.decl>{}", 100_000 + i))
        .collect::<Vec<_>>()
        .join(" OR ");
    let params = [
        ("selected", "objects.diaObjectId"),
        ("tables", "objects"),
        ("conditions", conditions.as_str()),
    ];
    let mut strict = config(data);
    strict.query_time_limit = Duration::ZERO;
    let r = Api::new(strict)
        .post("/api/query/", Some(&token), &params)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.json()["error"].as_str().unwrap().contains("ran longer"),
        "{}",
        r.text
    );
    // With the default limit the same query runs (and finds nothing).
    let rows = Api::new(config(data))
        .post("/api/query/", Some(&token), &params)
        .await
        .ok();
    assert_eq!(rows, json!([]));
}

#[tokio::test]
async fn cone_finds_the_real_objects_around_a_position() {
    let api = Api::on_shared_data();
    let (_, token) = user("cone_dana", UserClass::Power);
    let t = Some(token.as_str());
    // Positions as the objects table has them.
    let objects: Vec<(i64, f64, f64)> = common::with_main(|db| {
        db.query(
            "SELECT \"diaObjectId\", ra, decl FROM objects ORDER BY \"diaObjectId\"",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
        .collect()
    });
    let (id, ra, dec) = objects[objects.len() / 2];
    let (ra_s, dec_s) = (ra.to_string(), dec.to_string());
    let all = api
        .get(
            "/api/cone/",
            t,
            &[
                ("ra", &ra_s),
                ("dec", &dec_s),
                ("radius", "1"),
                ("requestType", "all"),
            ],
        )
        .await;
    assert!(
        all.text.contains(&id.to_string()),
        "exact 64-bit id in {}",
        all.text
    );
    let all = all.ok();
    assert_eq!(all["nearest"]["object"].as_i64(), Some(id));
    assert!(all["nearest"]["separation"].as_f64().unwrap() < 0.001);
    assert_eq!(all["count"], 1);
    let nearest = api
        .post_json(
            "/api/cone/",
            t,
            &json!({"ra": ra, "dec": dec, "radius": 1, "requestType": "nearest"}),
        )
        .await
        .ok();
    assert_eq!(nearest["nearest"]["object"].as_i64(), Some(id));
    // A big cone agrees with a scan of every object.
    let radius = 1000.0;
    let want: BTreeSet<i64> = objects
        .iter()
        .filter(|(_, r2, d2)| solas_catalogue::separation_arcsec(ra, dec, *r2, *d2) <= radius)
        .map(|(i, _, _)| *i)
        .collect();
    assert!(want.len() > 1, "several objects within 1000″");
    let big = api
        .post(
            "/api/cone/",
            t,
            &[
                ("ra", &ra_s),
                ("dec", &dec_s),
                ("radius", "1000"),
                ("requestType", "all"),
            ],
        )
        .await
        .ok();
    let got: BTreeSet<i64> = big["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["object"].as_i64().unwrap())
        .collect();
    assert_eq!(got, want);
    let seps: Vec<f64> = big["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["separation"].as_f64().unwrap())
        .collect();
    assert!(seps.windows(2).all(|w| w[0] <= w[1]), "nearest first");
    let count = api
        .get(
            "/api/cone/",
            t,
            &[
                ("ra", &ra_s),
                ("dec", &dec_s),
                ("radius", "1000"),
                ("requestType", "count"),
            ],
        )
        .await
        .ok();
    assert_eq!(count, json!({"count": want.len()}));
    // Nothing there: Lasair's empty answers.
    let far = [("ra", "200"), ("dec", "60"), ("radius", "10")];
    let mut p = far.to_vec();
    p.push(("requestType", "nearest"));
    assert_eq!(api.get("/api/cone/", t, &p).await.ok(), json!({}));
    p.pop();
    p.push(("requestType", "all"));
    assert_eq!(
        api.get("/api/cone/", t, &p).await.ok(),
        json!({"objects": [], "count": 0, "nearest": {}})
    );
    // ZTF objects by name with survey=ztf: ZTF21abiuvdk, 7.9″ from NGC 7814.
    let ztf = api
        .get(
            "/api/cone/",
            t,
            &[
                ("ra", "0.814293"),
                ("dec", "16.1456989"),
                ("radius", "2"),
                ("requestType", "nearest"),
                ("survey", "ztf"),
            ],
        )
        .await
        .ok();
    assert_eq!(ztf["nearest"]["object"], "ZTF21abiuvdk");
}

#[tokio::test]
async fn query_returns_exact_ids_pages_and_joins() {
    let api = Api::on_shared_data();
    let (_, token) = user("query_erin", UserClass::User);
    let t = Some(token.as_str());
    let expected: Vec<i64> = common::rubin_objects().keys().copied().collect();
    let page = |offset: &'static str| {
        [
            (
                "selected",
                "objects.diaObjectId, objects.nDiaSources, objects.ra",
            ),
            ("tables", "objects"),
            (
                "conditions",
                "objects.nDiaSources >= 1 ORDER BY objects.diaObjectId",
            ),
            ("limit", "10"),
            ("offset", offset),
        ]
    };
    let first = api.post("/api/query/", t, &page("0")).await;
    // The 18-digit ids appear in the JSON text exactly as integers.
    assert!(
        first
            .text
            .contains(&format!("\"diaObjectId\":{}", expected[0])),
        "{}",
        first.text
    );
    let first = first.ok();
    let second = api.get("/api/query/", t, &page("10")).await.ok();
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["diaObjectId"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&first), expected[..10]);
    assert_eq!(ids(&second), expected[10..20]);
    assert!(first[0]["nDiaSources"].as_i64().unwrap() >= 1);
    // Default limit, JSON body, and a join Lasair users write.
    let joined = api
        .post_json(
            "/api/query/",
            t,
            &json!({
                "selected": "objects.diaObjectId, sherlock_classifications.classification AS class",
                "tables": "objects, sherlock_classifications",
                "conditions": "sherlock_classifications.classification IS NOT NULL",
            }),
        )
        .await
        .ok();
    let rows = joined.as_array().unwrap();
    assert_eq!(
        rows.len(),
        expected.len(),
        "every Rubin object was classified"
    );
    assert!(rows.iter().all(|r| r["class"].is_string()));
    let classes: BTreeSet<&str> = rows.iter().map(|r| r["class"].as_str().unwrap()).collect();
    assert!(classes.contains("ORPHAN"), "{classes:?}");
    // Lasair's ZTF flavour: objectId names.
    let ztf = api
        .post(
            "/api/query/",
            t,
            &[
                ("selected", "objects.objectId, objects.ncand"),
                ("tables", "objects"),
                ("conditions", "objects.objectId = 'ZTF21abiuvdk'"),
                ("survey", "ztf"),
            ],
        )
        .await
        .ok();
    assert_eq!(ztf[0]["objectId"], "ZTF21abiuvdk");
}

#[tokio::test]
async fn object_answers_with_its_lightcurve_context_and_cutouts() {
    // Links are absolute with the configured public URL (never the request's Host).
    let mut config = config(common::shared_data());
    config.public_url = Some("http://solas.test/".into());
    let api = Api::new(config);
    let (_, token) = user("object_finn", UserClass::User);
    let t = Some(token.as_str());
    let (id, expected) = common::richest_rubin_object();
    let id_s = id.to_string();
    let r = api.get("/api/object/", t, &[("objectId", &id_s)]).await;
    assert!(r.text.contains(&format!("\"diaObjectId\":{id}")));
    let o = r.ok();
    assert_eq!(o["diaObjectId"].as_i64(), Some(id));
    let sources = o["diaSourcesList"].as_array().unwrap();
    assert_eq!(sources.len(), expected.sources.len());
    let got: BTreeSet<i64> = sources
        .iter()
        .map(|s| s["diaSourceId"].as_i64().unwrap())
        .collect();
    assert_eq!(got, expected.sources);
    let mjds: Vec<f64> = sources
        .iter()
        .map(|s| s["midpointMjdTai"].as_f64().unwrap())
        .collect();
    assert!(
        mjds.windows(2).all(|w| w[0] >= w[1]),
        "newest first, as Lasair"
    );
    assert_eq!(sources[0]["diaObjectId"].as_i64(), Some(id));
    assert!(sources[0]["psfFlux"].is_number() && sources[0]["ra"].is_number());
    // Every field Rubin sent, not a subset: those the archive used to drop among them.
    for s in sources {
        let fields = s.as_object().unwrap();
        assert!(fields.len() >= 90, "{} fields", fields.len());
        for f in [
            "extendedness",
            "snr",
            "pixelFlags_bad",
            "isDipole",
            "trailLength",
            "apFlux",
        ] {
            assert!(fields.contains_key(f), "{f}");
        }
    }
    for f in o["diaForcedSourcesList"].as_array().unwrap() {
        assert!(
            f.as_object().unwrap().len() > 10,
            "every diaForcedSource field"
        );
    }
    assert_eq!(
        o["diaForcedSourcesList"].as_array().unwrap().len(),
        expected.forced.len()
    );
    assert!((o["diaObject"]["ra"].as_f64().unwrap() - expected.ra).abs() < 0.001);
    let data = &o["lasairData"];
    assert!(data["nDiaSources"].as_i64().unwrap() >= 1);
    assert!(data["rasex"].as_str().unwrap().contains(':'));
    assert!(data["sherlock"]["classification"].is_string());
    assert_eq!(data["sherlock"]["diaObjectId"].as_i64(), Some(id));
    assert!(data["discMjd"].is_number() && data["peakMag"].is_string());
    assert!(data.get("ra").is_none(), "ra/decl live in diaObject");
    // Cutout links for every alert's trigger, serving the stored FITS.
    let urls = data["imageUrls"].as_array().unwrap();
    assert_eq!(urls.len(), expected.triggers.len());
    let science = urls[0]["Science"].as_str().unwrap();
    assert!(science.starts_with("http://solas.test/fits/"), "{science}");
    let path = science.trim_start_matches("http://solas.test");
    let fits = api.get(path, None, &[]).await;
    assert_eq!(fits.status, StatusCode::OK);
    assert_eq!(fits.headers[header::CONTENT_TYPE], "image/fits");
    assert!(fits.text.starts_with("SIMPLE"), "FITS bytes");
    assert_eq!(
        api.get("/fits/1/1_cutoutScience", None, &[]).await.status,
        StatusCode::NOT_FOUND
    );

    // lite: Lasair's lite source columns and a few object columns.
    let lite = api
        .post("/api/object/", t, &[("objectId", &id_s), ("lite", "True")])
        .await
        .ok();
    let keys: BTreeSet<&str> = lite["diaSourcesList"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "diaSourceId",
            "midpointMjdTai",
            "band",
            "psfFlux",
            "psfFluxErr",
            "reliability"
        ])
    );
    assert!(lite["lasairData"].get("latest_psfFlux").is_none());
    // Without lasair_added: the lightcurve and Rubin's own diaObject, in time order.
    let raw = api
        .post_json(
            "/api/object/",
            t,
            &json!({"objectId": id, "lasair_added": false}),
        )
        .await
        .ok();
    assert!(raw.get("lasairData").is_none());
    assert_eq!(raw["diaObject"]["diaObjectId"].as_i64(), Some(id));
    assert!(
        raw["diaObject"].as_object().unwrap().len() >= 50,
        "all of diaObject"
    );
    assert!(raw["diaNondetectionLimitsList"].is_array());
    assert_eq!(
        raw["diaSourcesList"].as_array().unwrap().len(),
        expected.sources.len()
    );
    // reliabilityThreshold drops less reliable sources.
    let strict = api
        .get(
            "/api/object/",
            t,
            &[("objectId", &id_s), ("reliabilityThreshold", "1.01")],
        )
        .await
        .ok();
    assert_eq!(strict["diaSourcesList"], json!([]));
    // Unknown objects are 404 as in Lasair.
    let r = api.get("/api/object/", t, &[("objectId", "12345")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // ZTF: Lasair-ZTF's shape, the 34 alerts' detections of ZTF21abiuvdk.
    let ztf = api
        .get(
            "/api/object/",
            t,
            &[("objectId", "ZTF21abiuvdk"), ("survey", "ztf")],
        )
        .await
        .ok();
    assert_eq!(ztf["objectId"], "ZTF21abiuvdk");
    let detections = ztf["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.get("candid").is_some())
        .count();
    assert!(detections >= 34, "{detections} detections");
    assert_eq!(ztf["sherlock"]["classification"], "SN");
    // Every field ZTF sent: those the archive used to drop among them.
    let candidates = ztf["candidates"].as_array().unwrap();
    for c in candidates.iter().filter(|c| c.get("candid").is_some()) {
        for f in ["fwhm", "magnr", "distnr", "classtar", "drb"] {
            assert!(c.get(f).is_some(), "{f} in {c}");
        }
    }
    assert!(candidates.iter().any(|c| c["sgscore1"].is_number()));
    assert!(candidates
        .iter()
        .filter(|c| c.get("candid").is_none())
        .all(|c| c["diffmaglim"].is_number() && c.get("pid").is_some()));
    // Marked as Lasair-ZTF marks them: a limit's magpsf is its diffmaglim; newest first,
    // limits among the detections; the counts beside.
    let limits: Vec<&Value> = candidates
        .iter()
        .filter(|c| c.get("candid").is_none())
        .collect();
    assert!(limits.len() >= 16, "ZTF21abiuvdk's pre-discovery limits");
    assert!(limits.iter().all(|c| c["magpsf"] == c["diffmaglim"]));
    let mjds: Vec<f64> = candidates
        .iter()
        .map(|c| c["mjd"].as_f64().unwrap())
        .collect();
    assert!(mjds.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(ztf["count_all_candidates"], detections);
    assert_eq!(ztf["count_noncandidate"], limits.len());
    assert!(candidates
        .iter()
        .filter(|c| c.get("candid").is_some())
        .all(|c| c["utc"].as_str().is_some_and(|u| u.len() == 19)));
}

#[tokio::test]
async fn sherlock_answers_for_objects_and_positions() {
    let api = Api::on_shared_data();
    let (_, token) = user("sherlock_gail", UserClass::Power);
    let t = Some(token.as_str());
    // ZTF21abiuvdk's position, 7.9″ from NGC 7814.
    let pos = api
        .get(
            "/api/sherlock/position/",
            t,
            &[("ra", "0.814293"), ("dec", "16.1456989")],
        )
        .await
        .ok();
    assert_eq!(pos["classifications"]["query0"][0], "SN");
    assert!(pos["classifications"]["query0"][1]
        .as_str()
        .unwrap()
        .contains("NGC7814"));
    let best = &pos["crossmatches"][0];
    assert_eq!(best["catalogue_object_id"], "NGC7814");
    assert_eq!(best["rank"], 1);
    assert_eq!(best["transient_object_id"], "query0");
    assert!((best["separationArcsec"].as_f64().unwrap() - 7.851).abs() < 0.01);
    let lite = api
        .post(
            "/api/sherlock/position/",
            t,
            &[("ra", "0.814293"), ("dec", "16.1456989"), ("lite", "true")],
        )
        .await
        .ok();
    assert_eq!(lite["crossmatches"].as_array().unwrap().len(), 1);
    // An object: the same class the pipeline stored for it.
    let (id, _) = common::richest_rubin_object();
    let stored: String = common::with_main(|db| {
        db.query_one(
            "SELECT classification FROM sherlock_classifications WHERE \"diaObjectId\" = ?1",
            solas_store::args![id],
        )
        .unwrap()
        .get(0)
        .unwrap()
    });
    let obj = api
        .get("/api/sherlock/object/", t, &[("objectId", &id.to_string())])
        .await
        .ok();
    assert_eq!(obj["classifications"][id.to_string()][0], stored);
    // The object data lists every crossmatch, as the Sherlock answer does; lite leaves
    // them out.
    let data = api
        .get("/api/object/", t, &[("objectId", &id.to_string())])
        .await
        .ok();
    assert_eq!(
        data["lasairData"]["sherlock_crossmatches"],
        obj["crossmatches"]
    );
    let lite = api
        .get(
            "/api/object/",
            t,
            &[("objectId", &id.to_string()), ("lite", "true")],
        )
        .await
        .ok();
    assert!(lite["lasairData"].get("sherlock_crossmatches").is_none());
    let ztf = api
        .get("/ztf/api/object/", t, &[("objectId", "ZTF21abiuvdk")])
        .await
        .ok();
    let ngc = &ztf["sherlock_crossmatches"][0];
    assert_eq!(ngc["catalogue_object_id"], "NGC7814");
    for field in [
        "catalogue_table_name",
        "separationArcsec",
        "northSeparationArcsec",
        "eastSeparationArcsec",
        "association_type",
        "z",
        "distance",
    ] {
        assert!(ngc.get(field).is_some(), "{field} in {ngc}");
    }
    // Between NGC 988 and the bright star HIP 12055 (21″ and 31″): both are listed, the
    // host first; lite keeps the host.
    let (ra, dec) = (
        38.865625 + 0.4 * (38.85195144 - 38.865625),
        -9.356194444444444 + 0.4 * (-9.35074005 - -9.356194444444444),
    );
    let (ra, dec) = (ra.to_string(), dec.to_string());
    let both = api
        .get("/api/sherlock/position/", t, &[("ra", &ra), ("dec", &dec)])
        .await
        .ok();
    let ids: Vec<&str> = both["crossmatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["catalogue_object_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["NGC0988", "12055"]);
    let lite = api
        .get(
            "/api/sherlock/position/",
            t,
            &[("ra", &ra), ("dec", &dec), ("lite", "1")],
        )
        .await
        .ok();
    assert_eq!(lite["crossmatches"].as_array().unwrap().len(), 1);
    // Over every Rubin object: the object data's list is the Sherlock answer's, best
    // first.
    for id in common::rubin_objects().keys() {
        let id = id.to_string();
        let data = api.get("/api/object/", t, &[("objectId", &id)]).await.ok();
        let answer = api
            .get("/api/sherlock/object/", t, &[("objectId", &id)])
            .await
            .ok();
        let all = data["lasairData"]["sherlock_crossmatches"]
            .as_array()
            .unwrap();
        assert_eq!(&Value::Array(all.clone()), &answer["crossmatches"], "{id}");
        let ranks: Vec<i64> = all.iter().map(|m| m["rank"].as_i64().unwrap()).collect();
        assert!(
            ranks.windows(2).all(|w| w[0] <= w[1]),
            "best first: {ranks:?}"
        );
    }
    let r = api
        .get("/api/sherlock/object/", t, &[("objectId", "12345")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json(), json!({"message": "Object 12345 not found"}));
    // A server without catalogues says so, as a Lasair without Sherlock does.
    let mut bare = config(common::shared_data());
    bare.catalogue_dir = Some(tempfile::tempdir().unwrap().path().join("none"));
    let r = Api::new(bare)
        .get("/api/sherlock/position/", t, &[("ra", "1"), ("dec", "1")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("no catalogues"));
}

/// The stored `hana_classifier` annotation of a Rubin object.
fn annotation(id: &str) -> Option<solas_store::main_db::annotations::Annotation> {
    common::sync(|| {
        AnnotationStore::connect(&common::main_target())
            .unwrap()
            .get(solas_core::Survey::Lsst, id, "hana_classifier")
            .unwrap()
    })
}

#[tokio::test]
async fn only_an_annotators_owner_may_annotate() {
    let api = Api::on_shared_data();
    let (owner, owner_token) = user("ann_hana", UserClass::User);
    let (_, other_token) = user("ann_ivan", UserClass::User);
    common::sync(|| {
        let mut store = AnnotationStore::connect(&common::main_target()).unwrap();
        for (topic, active) in [("hana_classifier", true), ("hana_retired", false)] {
            store
                .add_annotator(&Annotator {
                    topic: topic.into(),
                    owner,
                    description: String::new(),
                    url: String::new(),
                    active,
                    public: true,
                })
                .unwrap();
        }
    });
    let (id, _) = common::richest_rubin_object();
    let id_s = id.to_string();
    let fields = |topic: &'static str| {
        vec![
            ("objectId", id_s.clone()),
            ("topic", topic.to_string()),
            ("classification", "SN Ia".to_string()),
            ("version", "0.1".to_string()),
            ("explanation", String::new()),
            ("classdict", r#"{"SN Ia": 0.9}"#.to_string()),
            ("url", String::new()),
        ]
    };
    let pairs = |f: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { f.clone() };
    let send = |token: String, f: Vec<(&'static str, String)>| {
        let api = &api;
        async move {
            let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            api.post("/api/annotate/", Some(&token), &refs).await
        }
    };
    let r = send(other_token.clone(), pairs(&fields("hana_classifier"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json()["error"],
        "Annotator error: ann_ivan is not allowed to submit to topic hana_classifier"
    );
    let r = send(owner_token.clone(), pairs(&fields("hana_retired"))).await;
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("is not active"));
    let r = send(owner_token.clone(), pairs(&fields("nobody_topic"))).await;
    assert_eq!(
        r.json()["error"],
        "Annotator error: topic nobody_topic does not exist"
    );
    let mut bad = fields("hana_classifier");
    bad[5].1 = "not json".into();
    let r = send(owner_token.clone(), bad).await;
    assert!(r.json()["classdict"].is_array(), "{}", r.text);
    let ok = send(owner_token.clone(), pairs(&fields("hana_classifier")))
        .await
        .ok();
    assert_eq!(ok["status"], "success");
    let message: Value = serde_json::from_str(ok["message"].as_str().unwrap()).unwrap();
    assert_eq!(message["diaObjectId"].as_i64(), Some(id));
    let stored = annotation(&id_s).unwrap();
    assert_eq!(stored.classification, "SN Ia");
    // The object's answer shows it.
    let o = api
        .get("/api/object/", Some(&owner_token), &[("objectId", &id_s)])
        .await
        .ok();
    let anns = o["lasairData"]["annotations"].as_array().unwrap();
    assert!(anns
        .iter()
        .any(|a| a["topic"] == "hana_classifier" && a["classification"] == "SN Ia"));

    // annotatelist: all or nothing.
    let (a, b) = {
        let ids: Vec<i64> = common::rubin_objects().keys().copied().take(2).collect();
        (ids[0], ids[1])
    };
    let item = |object: i64, topic: &str| {
        json!({"objectId": object, "topic": topic, "classification": "AGN", "version": "2",
               "explanation": "", "classdict": "{}", "url": ""})
    };
    let r = api
        .post_json(
            "/api/annotatelist/",
            Some(&owner_token),
            &json!({"annotations": [item(a, "hana_classifier"), item(b, "nobody_topic")]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(annotation(&a.to_string()).is_none());
    let r = api
        .post_json(
            "/api/annotatelist/",
            Some(&owner_token),
            &json!({"annotations": [item(a, "hana_classifier"), item(b, "hana_classifier")]}),
        )
        .await
        .ok();
    assert_eq!(r, json!({"status": "success", "n": 2}));
    let r = api
        .post_json(
            "/api/annotatelist/",
            Some(&owner_token),
            &json!({"annotations": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Filters can now name the annotator.
    let rows = api
        .post(
            "/api/query/",
            Some(&owner_token),
            &[
                (
                    "selected",
                    "objects.diaObjectId, hana_classifier.classification",
                ),
                ("tables", "objects, annotator:hana_classifier"),
                ("conditions", ""),
            ],
        )
        .await
        .ok();
    let annotated: BTreeSet<i64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["diaObjectId"].as_i64().unwrap())
        .collect();
    assert_eq!(annotated, BTreeSet::from([id, a, b]));
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let api = Api::on_shared_data();
    let doc = api.get("/api/openapi.json", None, &[]).await.ok();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    for path in ENDPOINTS {
        let item = &paths[path];
        assert!(item.is_object(), "{path} missing");
        for (method, op) in item.as_object().unwrap() {
            let has_params = op.get("parameters").is_some() || op.get("requestBody").is_some();
            assert!(has_params, "{method} {path} lists its parameters");
        }
    }
    // Every documented API path is served (401 without a token, never 404).
    for (path, item) in paths {
        if !path.starts_with("/api/") || path.contains("openapi") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = api
                .send(
                    Request::builder()
                        .method(m)
                        .uri(path.as_str())
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            assert_ne!(r.status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
    // Query parameters named in the document are the ones the endpoints read.
    let cone_params: Vec<&str> = paths["/api/cone/"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        cone_params,
        ["ra", "dec", "radius", "requestType", "survey"]
    );
}

#[test]
fn a_real_server_limits_logins_per_address_and_stops() {
    let data = common::shared_data();
    let mut config = config(data);
    config.rates.login = 3;
    let server = solas_web::spawn(config).expect("server starts");
    let base = format!("http://{}", server.local_addr());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let login = || {
        agent
            .post(format!("{base}/api/auth-token/"))
            .send_form([("username", "nobody"), ("password", "whatever-it-is")])
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!([login(), login(), login()], [400, 400, 400]);
    assert_eq!(login(), 429, "the fourth attempt from one address");
    let doc = agent
        .get(format!("{base}/api/openapi.json"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(doc.contains("/api/annotatelist/"));
    server.stop().expect("clean stop");
    assert!(
        agent
            .get(format!("{base}/api/openapi.json"))
            .call()
            .is_err(),
        "stopped"
    );
}

/// A server without a pipeline of its own shows what the pipeline runs on its data
/// directory reported: `/metrics` with a worker label, and the workers on `/status`.
#[tokio::test]
async fn metrics_and_status_show_the_workers_reports() {
    let api = Api::on_shared_data();
    let metrics = api.get("/metrics", None, &[]).await;
    assert_eq!(metrics.status, StatusCode::OK, "{}", metrics.text);
    assert!(
        metrics
            .text
            .contains("solas_alerts_total{stage=\"decode\",worker=\"run@"),
        "{}",
        metrics.text
    );
    let status = api.get("/status", None, &[]).await;
    assert_eq!(status.status, StatusCode::OK);
    assert!(status.text.contains("id=\"workers\""), "{}", status.text);
    assert!(status.text.contains("<td>run</td>"), "{}", status.text);

    // Tonight's table sums the workers' hourly counts: its total is what the run ingested.
    let (mut alerts, mut filtered) = (0i64, 0i64);
    for r in common::with_main(|db| db.query("SELECT summary FROM worker_status", &[]).unwrap()) {
        let summary: Value = serde_json::from_str(&r.get::<String>(0).unwrap()).unwrap();
        alerts += summary["alerts"].as_i64().unwrap();
        filtered += summary["filtered"].as_i64().unwrap();
    }
    assert!(alerts > 100, "{alerts}");
    let tonight = status
        .text
        .split("id=\"tonight\"")
        .nth(1)
        .expect("the tonight table")
        .split("</table>")
        .next()
        .unwrap();
    let total = tonight
        .split("<tr class=\"total\">")
        .nth(1)
        .expect("a total row");
    let cells: Vec<&str> = total
        .split("<td class=\"num\">")
        .skip(1)
        .map(|c| c.split('<').next().unwrap())
        .collect();
    // Shown with thousands separators (their grouping has its own unit test).
    let number = |cell: &str| cell.replace(',', "");
    assert_eq!(
        number(cells[0]),
        alerts.to_string(),
        "ingested tonight: {total}"
    );
    assert_eq!(
        number(cells[3]),
        filtered.to_string(),
        "filtered tonight: {total}"
    );
    // The past nights' table holds the same run.
    assert!(status.text.contains("id=\"nights\""), "{}", status.text);

    // The newest alert of each survey, from the pipeline's reports: the alerts' own newest
    // time, in UTC (Rubin's MJDs are TAI, 37 s ahead).
    let mut newest = serde_json::Map::new();
    for r in common::with_main(|db| db.query("SELECT summary FROM worker_status", &[]).unwrap()) {
        let summary: Value = serde_json::from_str(&r.get::<String>(0).unwrap()).unwrap();
        for (k, v) in summary["newest_alert_mjd_utc"].as_object().unwrap() {
            let old = newest.get(k).and_then(Value::as_f64).unwrap_or(f64::MIN);
            newest.insert(k.clone(), v.as_f64().unwrap().max(old).into());
        }
        assert!(
            summary["last_batch_unix_ms"].as_u64().is_some(),
            "the run recorded its last batch: {summary}"
        );
    }
    let rubin = common::newest_alert_mjd("lsst/real/*/*.avro") - 37.0 / 86400.0;
    let ztf = common::newest_alert_mjd("ztf/alerts/*/*.avro");
    assert!(
        (newest["lsst"].as_f64().unwrap() - rubin).abs() < 1e-9,
        "{newest:?} {rubin}"
    );
    assert!(
        (newest["ztf"].as_f64().unwrap() - ztf).abs() < 1e-9,
        "{newest:?} {ztf}"
    );
    let now = common::between(&status.text, "id=\"now\"", "</table>").expect("the now table");
    assert!(
        now.contains("Newest Rubin alert")
            && now.contains("Newest ZTF alert")
            && now.contains("days ago"),
        "{now}"
    );
    // The latest batch is the pipeline's own record (by the run), not a file's time.
    let last = common::between(&status.text, "id=\"last-batch\"", "</td>").expect("last batch");
    assert!(last.contains("UTC") && last.contains("by run@"), "{last}");
}

/// A filter's page shows its latest results (what its stream carried lately).
#[tokio::test]
async fn a_filter_page_shows_its_recent_results() {
    let id = common::sync(|| {
        let mut store =
            solas_store::main_db::filters::FilterStore::connect(&common::main_target()).unwrap();
        let id = store
            .add(&solas_store::main_db::filters::StoredFilter {
                id: 0,
                owner: 77,
                name: "recent outputs".into(),
                description: String::new(),
                selected: "objects.diaObjectId".into(),
                tables: "objects".into(),
                conditions: String::new(),
                survey: "lsst".into(),
                public: true,
                active: "alerts".into(),
                output: "kafka".into(),
                topic: "solas_77_recentoutputs".into(),
                email: None,
                webhook_url: None,
                byte_quota: -1,
            })
            .unwrap();
        let records: Vec<String> = (0..150)
            .map(|i| format!(r#"{{"diaObjectId": {}}}"#, 169298432598474793i64 + i))
            .collect();
        store.record_outputs(&[(id, records)], 100).unwrap();
        assert_eq!(
            store.recent_outputs(id, 500).unwrap().len(),
            100,
            "only the last 100 kept"
        );
        id
    });
    let page = Api::on_shared_data()
        .get(&format!("/filters/{id}"), None, &[])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("id=\"recent-outputs\""), "{}", page.text);
    assert!(
        page.text.contains("169298432598474942"),
        "the newest record is shown: {}",
        page.text
    );
    assert!(
        !page.text.contains("169298432598474842"),
        "records beyond the last 100 are gone"
    );
}

// ---------------------------------------------------------------------------------------
// Hardening against the findings of the 2026-12 security audit (F4–F13) and a failing
// cutout store. Each test is named after its finding.
// ---------------------------------------------------------------------------------------

/// A request body that counts the bytes the server pulled from it.
struct CountedBody {
    left: usize,
    pulled: Arc<AtomicUsize>,
}

impl http_body::Body for CountedBody {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(64 * 1024);
        self.left -= n;
        self.pulled.fetch_add(n, Ordering::SeqCst);
        Poll::Ready(Some(Ok(http_body::Frame::data(vec![b'a'; n].into()))))
    }
}

/// A form body of `size` bytes, and how much of it the server read.
fn counted(size: usize) -> (Body, Arc<AtomicUsize>) {
    let pulled = Arc::new(AtomicUsize::new(0));
    let body = Body::new(CountedBody {
        left: size,
        pulled: pulled.clone(),
    });
    (body, pulled)
}

/// A client address for the in-process router (as the real server's connections carry).
fn from_addr(ip: [u8; 4]) -> ConnectInfo<SocketAddr> {
    ConnectInfo(SocketAddr::from((ip, 40_000)))
}

fn login_request(addr: [u8; 4], username: &str, password: &str, next: &str) -> Request<Body> {
    Api::request(Method::POST, "/login", None)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .extension(from_addr(addr))
        .body(Body::from(form(&[
            ("username", username),
            ("password", password),
            ("next", next),
        ])))
        .unwrap()
}

async fn post_login(api: &Api, addr: [u8; 4], username: &str, password: &str, next: &str) -> Resp {
    api.send(login_request(addr, username, password, next))
        .await
}

/// Log in with a token through `/login?token=`: (cookie pair, the session's CSRF token).
async fn web_session(api: &Api, token: &str) -> (String, String) {
    let r = api.get("/login", None, &[("token", token)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let cookie = r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = api.page("/watchlists", &cookie).await;
    let csrf = page
        .text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF field")
        .to_string();
    (cookie, csrf)
}

impl Api {
    async fn page(&self, path: &str, cookie: &str) -> Resp {
        self.send(
            Self::request(Method::GET, path, None)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn post_form(&self, path: &str, cookie: &str, pairs: &[(&str, &str)]) -> Resp {
        self.send(
            Self::request(Method::POST, path, None)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form(pairs)))
                .unwrap(),
        )
        .await
    }
}

#[tokio::test]
async fn f4_logout_and_login_do_not_buffer_big_bodies() {
    let api = Api::on_shared_data();
    // Nobody logged in: the body is not read at all.
    let (body, pulled) = counted(100 * 1024 * 1024);
    let r = api
        .send(
            Api::request(Method::POST, "/logout", None)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body)
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(pulled.load(Ordering::SeqCst), 0, "anonymous body read");

    // Logged in: a few KB at most, and the session survives a refused logout.
    let (_, token) = user("f4_lena", UserClass::User);
    let (cookie, csrf) = web_session(&api, &token).await;
    let (body, pulled) = counted(1024 * 1024);
    let r = api
        .send(
            Api::request(Method::POST, "/logout", None)
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body)
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert!(
        pulled.load(Ordering::SeqCst) <= 128 * 1024,
        "read beyond the cap"
    );
    assert!(api.page("/", &cookie).await.text.contains("f4_lena"));

    // The login form is capped the same way.
    let (body, pulled) = counted(1024 * 1024);
    let r = api
        .send(
            Api::request(Method::POST, "/login", None)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body)
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert!(pulled.load(Ordering::SeqCst) <= 128 * 1024);

    // Uploads still take big forms: 10,000 cones (~400 KB) far in the south, no hits.
    let csv: String = (0..10_000)
        .map(|i| format!("{:.5}, -89.99000, f4cone{i}\n", f64::from(i) * 0.036))
        .collect();
    assert!(csv.len() > 300 * 1024);
    let r = api
        .post_form(
            "/watchlists",
            &cookie,
            &[("csrf", &csrf), ("name", "f4 big upload"), ("csv", &csv)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("id=\"upload-ok\""), "{}", r.text);
    // A logged-in logout with its CSRF token still works.
    let r = api.post_form("/logout", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!api.page("/", &cookie).await.text.contains("f4_lena"));
}

/// Raw HTTP on a real connection: what arrived before the server closed it (or the read
/// timed out), and how long that took.
fn exchange(addr: SocketAddr, send: &[u8], wait: Duration) -> (std::io::Result<String>, Duration) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(wait)).unwrap();
    s.write_all(send).expect("send");
    let start = Instant::now();
    let mut got = Vec::new();
    let read = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got).into_owned();
    (read.map(|_| text), start.elapsed())
}

fn closed_by_server(r: &std::io::Result<String>) -> bool {
    match r {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn f5_slow_and_idle_connections_are_closed_within_the_timeouts() {
    let mut config = config(common::shared_data());
    config.limits.header_read = Duration::from_millis(500);
    config.limits.body_read = Duration::from_millis(800);
    let server = solas_web::spawn(config).expect("server starts");
    let addr = server.local_addr();

    // Half a header, then nothing (slowloris).
    let (read, took) = exchange(
        addr,
        b"GET /status HTTP/1.1\r\nHost: solas.test\r\nX-Slow: ",
        Duration::from_secs(10),
    );
    assert!(
        closed_by_server(&read),
        "still open after {took:?}: {read:?}"
    );
    assert!(took < Duration::from_secs(5), "closed only after {took:?}");
    assert!(!read.unwrap_or_default().contains("200 OK"));

    // A whole request on a keep-alive connection: answered, then closed once idle.
    let (read, took) = exchange(
        addr,
        b"GET /api/openapi.json HTTP/1.1\r\nHost: solas.test\r\n\r\n",
        Duration::from_secs(10),
    );
    assert!(closed_by_server(&read), "idle connection kept {took:?}");
    assert!(read.unwrap().starts_with("HTTP/1.1 200"));
    assert!(took < Duration::from_secs(5), "closed only after {took:?}");

    // A body that stops coming: 408 within the body timeout.
    let (read, took) = exchange(
        addr,
        b"POST /login HTTP/1.1\r\nHost: solas.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=slow",
        Duration::from_secs(10),
    );
    let text = read.expect("an answer, then close");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        took < Duration::from_secs(5),
        "answered only after {took:?}"
    );
    server.stop().expect("clean stop");
}

#[test]
fn f5_connections_beyond_the_cap_wait_for_a_free_slot() {
    let mut config = config(common::shared_data());
    config.limits.max_connections = 1;
    config.limits.header_read = Duration::from_secs(30);
    let server = solas_web::spawn(config).expect("server starts");
    let addr = server.local_addr();
    let holder = TcpStream::connect(addr).expect("connect");
    std::thread::sleep(Duration::from_millis(200));
    let mut waiting = TcpStream::connect(addr).expect("queued by the kernel");
    waiting
        .write_all(
            b"GET /api/openapi.json HTTP/1.1\r\nHost: solas.test\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut got = Vec::new();
    let early = waiting.read_to_end(&mut got);
    assert!(
        early.is_err() && got.is_empty(),
        "served beyond the cap: {early:?} {}",
        String::from_utf8_lossy(&got)
    );
    drop(holder);
    waiting
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    waiting
        .read_to_end(&mut got)
        .expect("served once the slot is free");
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    server.stop().expect("clean stop");
}

/// The audit's `next` values: each must send the browser home, not elsewhere.
const HOSTILE_NEXT: [&str; 10] = [
    "//evil.example",
    "https://evil.example",
    "/\\evil.example",
    "/\t/evil.example",
    "\t/evil.example",
    "/\n/evil.example",
    "/ /evil.example",
    " /evil.example",
    "/.//evil.example",
    "/%09/evil.example\n",
];

#[tokio::test]
async fn f6_open_redirect_with_a_tab_is_refused() {
    let api = Api::on_shared_data();
    let (_, token) = user("f6_fran", UserClass::User);
    for next in HOSTILE_NEXT {
        let r = api
            .get("/login", None, &[("token", &token), ("next", next)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.text);
        assert_eq!(r.headers[header::LOCATION], "/", "{next:?}");
        let r = post_login(
            &api,
            [10, 6, 0, 1],
            "f6_fran",
            "a long enough password",
            next,
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.text);
        assert_eq!(r.headers[header::LOCATION], "/", "{next:?}");
        // The login form does not carry it forward either.
        let r = api.get("/login", None, &[("next", next)]).await;
        assert!(r.text.contains("name=\"next\" value=\"/\""), "{next:?}");
    }
    let r = api
        .get(
            "/login",
            None,
            &[("token", &token), ("next", "/filters?x=1")],
        )
        .await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/filters?x=1",
        "a local path is kept"
    );
}

#[tokio::test]
async fn f13_next_with_a_newline_redirects_home_and_never_500() {
    let api = Api::on_shared_data();
    let (_, token) = user("f13_nina", UserClass::User);
    for next in ["/x\ny", "/\r\nSet-Cookie: a=b", "\n"] {
        let r = post_login(
            &api,
            [10, 13, 0, 1],
            "f13_nina",
            "a long enough password",
            next,
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.text);
        assert_eq!(r.headers[header::LOCATION], "/");
        // The session that was started is the one the browser got, and it works.
        let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap();
        assert!(api.page("/", cookie).await.text.contains("f13_nina"));
        let r = api
            .get("/login", None, &[("token", &token), ("next", next)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.text);
        assert_eq!(r.headers[header::LOCATION], "/");
    }
}

#[tokio::test]
async fn f7_failed_logins_lock_the_attacked_account_not_everyone() {
    let api = Api::on_shared_data();
    user("f7_victim", UserClass::User);
    user("f7_bystander", UserClass::User);
    let right = "a long enough password";
    let (a, b) = ([10, 7, 0, 1], [10, 7, 0, 2]);
    // Successes do not count: more than an account's failure limit (10) all work. (One
    // after the other: an attempt is counted until its password is found right, so more
    // than 10 at the same instant would not all fit.)
    for _ in 0..11 {
        let r = post_login(&api, a, "f7_bystander", right, "/").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
    // 100 bad logins from one address, spread over made-up accounts: all plain failures.
    // Sent at once, since each checks a (deliberately slow) password hash.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let app = api.app.clone();
        let req = login_request(a, &format!("f7_nobody{i}"), "guess", "/");
        tasks.spawn(async move { app.oneshot(req).await.expect("infallible").status() });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.expect("task"), StatusCode::UNAUTHORIZED);
    }
    // Brute-forcing one account: 429 after 10 failures...
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(post_login(&api, a, "f7_victim", "guess", "/").await.status);
    }
    assert_eq!(statuses[..10], [StatusCode::UNAUTHORIZED; 10]);
    assert_eq!(statuses[10..], [StatusCode::TOO_MANY_REQUESTS; 2]);
    // ...for that account from any address, through /api/auth-token/ too.
    let r = post_login(&api, b, "f7_victim", right, "/").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = api
        .send(
            Api::request(Method::POST, "/api/auth-token/", None)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .extension(from_addr(b))
                .body(Body::from(form(&[
                    ("username", "f7_victim"),
                    ("password", right),
                ])))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    // Other accounts still log in, from the attacking address and from another.
    for addr in [a, b] {
        let r = post_login(&api, addr, "f7_bystander", right, "/").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{addr:?}: {}", r.text);
    }
    let r = api
        .send(
            Api::request(Method::POST, "/api/auth-token/", None)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .extension(from_addr(a))
                .body(Body::from(form(&[
                    ("username", "f7_bystander"),
                    ("password", right),
                ])))
                .unwrap(),
        )
        .await;
    assert!(r.ok()["token"].is_string());
}

#[tokio::test]
async fn f8_long_names_and_descriptions_are_refused_with_the_form() {
    let api = Api::on_shared_data();
    let (_, token) = user("f8_finn", UserClass::User);
    let (cookie, csrf) = web_session(&api, &token).await;
    let long_name = "n".repeat(129);
    let long_description = "d".repeat(4001);

    let r = api
        .post_form(
            "/watchlists",
            &cookie,
            &[
                ("csrf", &csrf),
                ("name", &long_name),
                ("csv", "10, 20, a\n"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.text.contains("name may be at most 128 characters"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("id=\"watchlist-form\""),
        "the form comes back"
    );
    assert!(!r.text.contains(&long_name), "not stored, not listed");

    let r = api
        .post_form(
            "/watchmaps",
            &cookie,
            &[
                ("csrf", &csrf),
                ("name", "f8 map"),
                ("description", &long_description),
                ("moc", "5/1-10"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.text
            .contains("description may be at most 4000 characters"),
        "{}",
        r.text
    );
    assert!(r.text.contains("id=\"watchmap-form\""));
    assert!(!r.text.contains("f8 map"), "not stored, not listed");

    let r = api
        .post_form(
            "/filters",
            &cookie,
            &[
                ("csrf", &csrf),
                ("name", &long_name),
                ("selected", "objects.diaObjectId"),
                ("tables", "objects"),
                ("conditions", "objects.nDiaSources >= 2"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("id=\"save-error\""), "{}", r.text);
    assert!(r.text.contains("name may be at most 128 characters"));
    assert!(
        r.text.contains("id=\"filter-form\""),
        "the draft comes back"
    );
    assert!(!api
        .page("/filters", &cookie)
        .await
        .text
        .contains(&long_name[..129]));
}

#[tokio::test]
async fn f9_answers_forbid_framing_and_login_refuses_other_sites() {
    let api = Api::on_shared_data();
    for path in ["/", "/login", "/api/openapi.json", "/no/such/page"] {
        let r = api.get(path, None, &[]).await;
        assert_eq!(r.headers["x-frame-options"], "DENY", "{path}");
        let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(r.headers[header::REFERRER_POLICY], "same-origin");
    }
    let (_, token) = user("f9_fay", UserClass::User);
    let login = |origin: Option<(&'static str, &'static str)>| {
        let mut b = Api::request(Method::POST, "/login", None)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some((name, value)) = origin {
            b = b.header(name, value);
        }
        b.body(Body::from(form(&[
            ("username", "f9_fay"),
            ("password", "a long enough password"),
        ])))
        .unwrap()
    };
    // Login CSRF: another site's form is refused, and no session is started.
    for hostile in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("referer", "https://evil.example/page"),
    ] {
        let r = api.send(login(Some(hostile))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{hostile:?}");
        assert!(r.headers.get(header::SET_COOKIE).is_none());
    }
    // This site's own form (also as a proxy forwards it), and clients that send no
    // Origin, log in.
    let proxied = api
        .send(
            Api::request(Method::POST, "/login", None)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("origin", "https://solas.example.org")
                .header("x-forwarded-host", "solas.example.org")
                .body(Body::from(form(&[
                    ("username", "f9_fay"),
                    ("password", "a long enough password"),
                ])))
                .unwrap(),
        )
        .await;
    assert_eq!(proxied.status, StatusCode::SEE_OTHER, "{}", proxied.text);
    for fine in [Some(("origin", "http://solas.test")), None] {
        let r = api.send(login(fine)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{fine:?}: {}", r.text);
        let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
        assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    }
    // A login link followed from another site (a link, an image, a form) does not log the
    // visitor in as the link's owner; followed from here, typed, or by a script, it does.
    let token_login = |site: Option<&'static str>| {
        let mut b = Api::request(
            Method::GET,
            &format!("/login?token={token}&next=/filters"),
            None,
        );
        if let Some(site) = site {
            b = b.header("sec-fetch-site", site);
        }
        b.body(Body::empty()).unwrap()
    };
    for hostile in ["cross-site", "same-site"] {
        let r = api.send(token_login(Some(hostile))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{hostile}");
        assert!(r.headers.get(header::SET_COOKIE).is_none(), "{hostile}");
    }
    for fine in [Some("same-origin"), Some("none"), None] {
        let r = api.send(token_login(fine)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{fine:?}: {}", r.text);
        assert!(r.headers.get(header::SET_COOKIE).is_some(), "{fine:?}");
    }
    // Served over HTTPS (its public URL says so): the cookie is Secure.
    let mut config = config(common::shared_data());
    config.public_url = Some("https://solas.example.org".into());
    let https = Api::new(config);
    let r = https.get("/login", None, &[("token", &token)]).await;
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let r = https
        .send(login(Some(("origin", "https://solas.example.org"))))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
}

/// Wrong API tokens, on the API or in a login link, count as failed logins of their
/// address: past the hourly limit that address waits (429), others do not.
#[tokio::test]
async fn f14_token_guessing_is_throttled_per_address() {
    let mut config = config(common::shared_data());
    config.rates.login = 5;
    let api = Api::new(config);
    let (_, token) = user("f14_tess", UserClass::User);
    let (a, b) = ([10, 14, 0, 1], [10, 14, 0, 2]);
    let objects = |addr: [u8; 4], token: &str| {
        Api::request(
            Method::GET,
            "/api/cone/?ra=10&dec=10&radius=5&requestType=count",
            Some(token),
        )
        .extension(from_addr(addr))
        .body(Body::empty())
        .unwrap()
    };
    let link = |addr: [u8; 4], token: &str| {
        Api::request(Method::GET, &format!("/login?token={token}"), None)
            .extension(from_addr(addr))
            .body(Body::empty())
            .unwrap()
    };
    // A right token never counts.
    for _ in 0..10 {
        assert_eq!(api.send(objects(a, &token)).await.status, StatusCode::OK);
    }
    let mut statuses = Vec::new();
    for i in 0..4 {
        let guess = format!("{i:040}");
        statuses.push(api.send(objects(a, &guess)).await.status);
        statuses.push(api.send(link(a, &guess)).await.status);
    }
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[5..], [StatusCode::TOO_MANY_REQUESTS; 3]);
    // The guessing address waits, even with a right token; another address does not.
    assert_eq!(
        api.send(objects(a, &token)).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(api.send(objects(b, &token)).await.status, StatusCode::OK);
    assert_eq!(
        api.send(link(b, &token)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn f10_host_header_is_not_reflected_in_image_urls() {
    let (_, token) = user("f10_gus", UserClass::User);
    let (id, _) = common::richest_rubin_object();
    let query = format!("/api/object/?objectId={id}");
    // In process (no connection): links relative to the server.
    let api = Api::on_shared_data();
    let r = api
        .send(
            Request::get(query.as_str())
                .header(header::HOST, "evil.example")
                .header(header::AUTHORIZATION, format!("Token {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let o = r.ok();
    assert!(!r.text.contains("evil.example"), "{}", r.text);
    let first = o["lasairData"]["imageUrls"][0]["Science"].as_str().unwrap();
    assert!(first.starts_with("/fits/"), "{first}");

    // A real server: the address the client connected to. Started off this test's
    // runtime: opening its stores blocks (a PostgreSQL client has a runtime of its own).
    std::thread::spawn(move || {
        let server = solas_web::spawn(config(common::shared_data())).expect("server starts");
        let addr = server.local_addr();
        let request = format!(
            "GET {query} HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Token {token}\r\nConnection: close\r\n\r\n"
        );
        let (read, _) = exchange(addr, request.as_bytes(), Duration::from_secs(60));
        let text = read.expect("answer");
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(!text.contains("evil.example"), "{text}");
        assert!(
            text.contains(&format!("\"Science\":\"http://{addr}/fits/")),
            "{text}"
        );
        server.stop().expect("clean stop");
    })
    .join()
    .expect("the real-server half");
}

/// A cutout store that cannot be reached: every lookup fails as S3 would when down.
struct UnreachableCutouts;

impl solas_store::BlobStore for UnreachableCutouts {
    fn put_cutout(
        &self,
        _: solas_core::Survey,
        _: i64,
        _: solas_core::CutoutKind,
        _: &[u8],
    ) -> Result<u64, solas_store::StoreError> {
        Err(solas_store::StoreError::Backend(
            "s3: connection refused".into(),
        ))
    }

    fn get_cutout(
        &self,
        _: solas_core::Survey,
        _: i64,
        _: solas_core::CutoutKind,
    ) -> Result<Option<Vec<u8>>, solas_store::StoreError> {
        Err(solas_store::StoreError::Backend(
            "s3: connection refused".into(),
        ))
    }

    fn stored_size(
        &self,
        _: solas_core::Survey,
        _: i64,
        _: solas_core::CutoutKind,
    ) -> Result<Option<u64>, solas_store::StoreError> {
        Err(solas_store::StoreError::Backend(
            "s3: connection refused".into(),
        ))
    }

    fn sync(&self) -> Result<(), solas_store::StoreError> {
        Ok(())
    }
}

#[tokio::test]
async fn object_page_with_a_failing_cutout_store_marks_the_cutout_unavailable() {
    let (id, _) = common::richest_rubin_object();
    // With the real store, the cutouts are shown.
    let page = Api::on_shared_data()
        .get(&format!("/objects/{id}"), None, &[])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("class=\"cutout\""), "{}", page.text);

    let mut config = config(common::shared_data());
    config.cutouts_store = Some(Arc::new(UnreachableCutouts));
    let api = Api::new(config);
    let page = api.get(&format!("/objects/{id}"), None, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("id=\"cutouts-unavailable\""),
        "{}",
        page.text
    );
    assert!(page.text.contains("Cutout unavailable"));
    assert!(!page.text.contains("class=\"cutout\""));
    // The rest of the page is there: the lightcurve data and the context.
    assert!(page.text.contains("id=\"lc-data\""));
    assert!(page.text.contains(">Context<"));
    // The PNG of a cutout says the store is unavailable, not a bare 500.
    let png = api.get("/cutouts/lsst/1/Science.png", None, &[]).await;
    assert_eq!(png.status, StatusCode::SERVICE_UNAVAILABLE, "{}", png.text);
    // The API answers the object too, without the cutout links.
    let (_, token) = user("object_s3_down", UserClass::User);
    let r = api
        .get(
            "/api/object/",
            Some(token.as_str()),
            &[("objectId", &id.to_string())],
        )
        .await;
    let o = r.ok();
    assert_eq!(o["diaObjectId"].as_i64(), Some(id));
    assert!(!o["diaSourcesList"].as_array().unwrap().is_empty());
    assert_eq!(o["lasairData"]["imageUrls"], serde_json::json!([]), "{o}");
}

/// The unchanged `lasair` client cannot send a survey: `/ztf/api/` is the ZTF API, as
/// Lasair-ZTF's own, while `/api/` stays Rubin.
#[tokio::test]
async fn the_ztf_api_answers_under_its_own_base_path() {
    let api = Api::on_shared_data();
    let (_, token) = user("ztf_base_zoe", UserClass::User);
    let t = Some(token.as_str());
    let o = api
        .get("/ztf/api/object/", t, &[("objectId", "ZTF21abiuvdk")])
        .await
        .ok();
    assert_eq!(o["objectId"], "ZTF21abiuvdk");
    assert!(o["candidates"].as_array().unwrap().len() >= 34);
    // `objects` is the ZTF objects table there.
    let rows = api
        .post(
            "/ztf/api/query/",
            t,
            &[
                ("selected", "objects.objectId, objects.ncand"),
                ("tables", "objects"),
                ("conditions", "objects.objectId = 'ZTF21abiuvdk'"),
            ],
        )
        .await
        .ok();
    assert_eq!(rows[0]["objectId"], "ZTF21abiuvdk", "{rows}");
    let cone = api
        .get(
            "/ztf/api/cone/",
            t,
            &[
                ("ra", "0.814293"),
                ("dec", "16.1456989"),
                ("radius", "5"),
                ("requestType", "nearest"),
            ],
        )
        .await
        .ok();
    assert_eq!(cone["nearest"]["object"], "ZTF21abiuvdk", "{cone}");
    let sherlock = api
        .get(
            "/ztf/api/sherlock/object/",
            t,
            &[("objectId", "ZTF21abiuvdk")],
        )
        .await
        .ok();
    assert!(
        sherlock["classifications"]["ZTF21abiuvdk"][0] == "SN",
        "{sherlock}"
    );
    // As the broker knew it at MJD 59440: fewer detections, none later.
    let then = api
        .get(
            "/ztf/api/object/",
            t,
            &[("objectId", "ZTF21abiuvdk"), ("asOf", "59440")],
        )
        .await
        .ok();
    let (was, is) = (&then["featuresAsOf"], &then["objectData"]);
    assert!(
        was["ncand"].as_i64().unwrap() < is["ncand"].as_i64().unwrap(),
        "{was}"
    );
    assert!(was["jdmax"].as_f64().unwrap() <= 59440.0 + 2_400_000.5);
    let r = api
        .get(
            "/ztf/api/object/",
            t,
            &[("objectId", "ZTF21abiuvdk"), ("asOf", "soon")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // `/api/` is Rubin's: a ZTF name is no diaObjectId there.
    let r = api
        .get("/api/object/", t, &[("objectId", "ZTF21abiuvdk")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

/// The pinned readers of the export test.
const EXPORT_READERS: [&str; 2] = ["astropy==8.0.2", "pyarrow==26.0.1"];

/// Whether `got` (as `read_export.py` printed it from a file of `format`) is `expected`,
/// the archive's value, exactly: 64-bit integers and reals bit for bit, NaN apart from
/// null (but in JSON lines, which has no NaN).
fn exported_equal(expected: &solas_decode::value::Value, got: &Value, format: &str) -> bool {
    use solas_decode::value::Value as V;
    let text = got.as_str();
    match expected {
        // Text formats cannot tell a missing string from an empty one (astropy reads an
        // empty VOTable char cell as "").
        V::Null => got.is_null() || (matches!(format, "csv" | "votable") && text == Some("")),
        V::Long(n) => got.as_i64() == Some(*n) || text.and_then(|t| t.parse().ok()) == Some(*n),
        // JSON has no NaN; VOTable's null for a real is NaN (astropy masks it).
        V::Float(x) if x.is_nan() => match format {
            "jsonl" => got.is_null(),
            "votable" => got.is_null() || text == Some("NaN"),
            _ => text == Some("NaN"),
        },
        // JSON has no NaN; VOTable's null for a real is NaN (astropy masks it).
        V::Double(x) if x.is_nan() => match format {
            "jsonl" => got.is_null(),
            "votable" => got.is_null() || text == Some("NaN"),
            _ => text == Some("NaN"),
        },
        // A float read as a double (pyarrow, astropy) is its exact widening; CSV and JSON
        // carry its shortest decimal, which reads back as the same float.
        V::Float(x) => match (got.as_f64(), text) {
            (Some(f), _) if format == "csv" || format == "jsonl" => {
                (f as f32).to_bits() == x.to_bits()
            }
            (Some(f), _) => f == f64::from(*x),
            (None, Some(t)) => t.parse::<f32>().is_ok_and(|f| f.to_bits() == x.to_bits()),
            _ => false,
        },
        V::Double(x) => match (got.as_f64(), text) {
            (Some(f), _) => f.to_bits() == x.to_bits(),
            (None, Some(t)) => t.parse::<f64>().is_ok_and(|f| f.to_bits() == x.to_bits()),
            _ => false,
        },
        V::Bool(b) => got.as_bool() == Some(*b) || text == Some(if *b { "true" } else { "false" }),
        // Text formats cannot tell an empty string from a missing one.
        V::String(s) if s.is_empty() && format != "jsonl" && format != "parquet" => {
            got.is_null() || text == Some("")
        }
        V::String(s) => text == Some(s.as_str()),
        other => *got == other.to_json() || text == Some(other.to_json().to_string().as_str()),
    }
}

#[tokio::test]
async fn exports_read_back_by_astropy_and_pyarrow_equal_the_archive_field_for_field() {
    use solas_export::{Selection, SourceKind};
    let api = Api::on_shared_data();
    let (_, token) = user("export_erin", UserClass::User);
    let python = common::python_with(&EXPORT_READERS);
    let dir = tempfile::tempdir().unwrap();
    let ztf = solas_core::ObjectKey::ztf("ZTF21abiuvdk").unwrap().id;
    let cases = [
        (
            vec![("survey", "ztf"), ("objectIds", "ZTF21abiuvdk")],
            solas_core::Survey::Ztf,
            SourceKind::Detections,
            Selection {
                objects: Some(vec![ztf]),
                mjd: None,
            },
        ),
        (
            vec![
                ("survey", "ztf"),
                ("objectIds", "ZTF21abiuvdk"),
                ("kind", "nondetections"),
            ],
            solas_core::Survey::Ztf,
            SourceKind::NonDetections,
            Selection {
                objects: Some(vec![ztf]),
                mjd: None,
            },
        ),
        (
            vec![("survey", "ztf"), ("kind", "forced"), ("since", "0")],
            solas_core::Survey::Ztf,
            SourceKind::Forced,
            Selection {
                objects: None,
                mjd: Some((0.0, f64::MAX)),
            },
        ),
        (
            vec![("since", "60000"), ("until", "70000")],
            solas_core::Survey::Lsst,
            SourceKind::Detections,
            Selection {
                objects: None,
                mjd: Some((60000.0, 70000.0)),
            },
        ),
    ];
    for (params, survey, kind, selection) in cases {
        // What the archive holds, read independently of the export.
        let expected = common::sync(|| {
            let mut store = common::lightcurves();
            let mut reader = solas_decode::value::RecordReader::default();
            let mut rows = Vec::new();
            store
                .each_source(survey, kind, &selection, &mut |object, record| {
                    rows.push((object, reader.read(&record).expect("a stored record reads")));
                    std::ops::ControlFlow::Continue(())
                })
                .expect("the archive reads");
            rows
        });
        assert!(
            expected.len() >= 10,
            "{params:?}: {} rows in the archive",
            expected.len()
        );
        let key = if survey == solas_core::Survey::Ztf {
            "objectId"
        } else {
            "diaObjectId"
        };
        for format in ["csv", "jsonl", "votable", "parquet"] {
            let mut pairs = params.clone();
            pairs.push(("format", format));
            let uri = format!("/api/export/?{}", form(&pairs));
            let resp = api
                .app
                .clone()
                .oneshot(
                    Api::request(Method::GET, &uri, Some(&token))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{uri}");
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
            let path = dir.path().join(format!("export.{format}"));
            std::fs::write(&path, &bytes).unwrap();
            let run = std::process::Command::new(&python)
                .arg(common::repo().join("crates/solas-web/tests/read_export.py"))
                .arg(format)
                .arg(&path)
                .output()
                .expect("python runs");
            assert!(
                run.status.success(),
                "{uri}: {}",
                String::from_utf8_lossy(&run.stderr)
            );
            let read: Value = serde_json::from_slice(&run.stdout).unwrap();
            let columns: Vec<&str> = read["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            let rows = read["rows"].as_array().unwrap();
            assert_eq!(rows.len(), expected.len(), "{uri}: rows");
            assert_eq!(columns[0], key, "{uri}: the object's column leads");
            // Every field of every record is a column.
            let fields: BTreeSet<&str> = expected
                .iter()
                .flat_map(|(_, r)| match r {
                    solas_decode::value::Value::Record(f) => {
                        f.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>()
                    }
                    _ => Vec::new(),
                })
                .chain([key])
                .collect();
            assert_eq!(
                columns.iter().copied().collect::<BTreeSet<_>>(),
                fields,
                "{uri}: columns"
            );
            let mut checked = 0;
            for ((object, record), row) in expected.iter().zip(rows) {
                let row = row.as_array().unwrap();
                for (name, got) in columns.iter().zip(row) {
                    let value = match record.get(name) {
                        Some(solas_decode::value::Value::Null) | None if *name == key => {
                            if survey == solas_core::Survey::Ztf {
                                solas_decode::value::Value::String("ZTF21abiuvdk".into())
                            } else {
                                solas_decode::value::Value::Long(*object)
                            }
                        }
                        Some(v) => v.clone(),
                        None => solas_decode::value::Value::Null,
                    };
                    if survey == solas_core::Survey::Ztf
                        && *name == key
                        && selection.objects.is_none()
                    {
                        // Forced photometry of every ZTF object: the name is checked by packing it.
                        let name = got.as_str().unwrap();
                        assert_eq!(
                            solas_core::ObjectKey::ztf(name).unwrap().id,
                            *object,
                            "{uri}"
                        );
                        continue;
                    }
                    assert!(
                        exported_equal(&value, got, format),
                        "{uri}: {name} of a source of {object}: stored {value:?}, read {got}"
                    );
                    checked += 1;
                }
            }
            assert!(
                checked > expected.len() * 20,
                "{uri}: {checked} values checked"
            );
        }
    }
}

#[tokio::test]
async fn export_chooses_objects_by_cone_filter_or_page_link_and_says_what_is_wrong() {
    let api = Api::on_shared_data();
    let (_, token) = user("export_eve", UserClass::User);
    let t = Some(token.as_str());
    let csv_rows = |resp: &Resp| -> Vec<Vec<String>> {
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.text);
        let mut lines = resp.text.lines();
        assert!(
            lines.next().unwrap().starts_with("objectId,"),
            "{}",
            resp.text
        );
        lines
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    // A cone around ZTF21abiuvdk: its 34 detections.
    let cone = api
        .get(
            "/api/export/",
            t,
            &[
                ("survey", "ztf"),
                ("ra", "0.814293"),
                ("dec", "16.1456989"),
                ("radius", "5"),
            ],
        )
        .await;
    let rows = csv_rows(&cone);
    assert_eq!(rows.len(), 34);
    assert!(rows.iter().all(|r| r[0] == "ZTF21abiuvdk"));
    assert_eq!(
        cone.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"solas-ztf-sources.csv\""
    );
    // A filter: the objects of the same filter through /api/query/, every one exported.
    let conditions = "objects.ncand > 20";
    let queried = api
        .get(
            "/ztf/api/query/",
            t,
            &[
                ("selected", "objects.objectId"),
                ("tables", "objects"),
                ("conditions", conditions),
            ],
        )
        .await
        .ok();
    let want: BTreeSet<String> = queried
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["objectId"].as_str().unwrap().to_string())
        .collect();
    assert!(want.len() >= 5, "{queried}");
    let filtered = api
        .get(
            "/ztf/api/export/",
            t,
            &[("tables", "objects"), ("conditions", conditions)],
        )
        .await;
    let got: BTreeSet<String> = csv_rows(&filtered)
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(got, want);
    // The object page links to its files, which anyone who can see the page can fetch.
    let page = api.get("/objects/ZTF21abiuvdk", None, &[]).await;
    assert!(
        page.text.contains(
            "/objects/ZTF21abiuvdk/export?survey=ztf&amp;kind=sources&amp;format=votable"
        ),
        "{}",
        page.text
    );
    let linked = api
        .get(
            "/objects/ZTF21abiuvdk/export",
            None,
            &[("survey", "ztf"), ("kind", "sources"), ("format", "csv")],
        )
        .await;
    assert_eq!(csv_rows(&linked), rows);
    // What cannot be done is a 400 naming the problem, before any file.
    for (pairs, says) in [
        (vec![("survey", "ztf")], "Choose what to export"),
        (
            vec![
                ("survey", "ztf"),
                ("objectIds", "ZTF21abiuvdk"),
                ("ra", "1"),
                ("dec", "2"),
                ("radius", "3"),
            ],
            "Choose objects one way",
        ),
        (
            vec![
                ("survey", "ztf"),
                ("objectIds", "ZTF21abiuvdk"),
                ("format", "fits"),
            ],
            "not a valid choice",
        ),
        (vec![("objectIds", "ZTF21abiuvdk")], "not a diaObjectId"),
        (
            vec![
                ("survey", "ztf"),
                ("tables", "objects"),
                ("conditions", "objects.nope > 1"),
            ],
            "nope",
        ),
        (
            vec![
                ("survey", "ztf"),
                ("ra", "1"),
                ("dec", "2"),
                ("radius", "5000"),
            ],
            "radius",
        ),
    ] {
        let resp = api.get("/api/export/", t, &pairs).await;
        assert_eq!(
            resp.status,
            StatusCode::BAD_REQUEST,
            "{pairs:?}: {}",
            resp.text
        );
        assert!(resp.text.contains(says), "{pairs:?}: {}", resp.text);
    }
    // The API wants a token, as every endpoint does.
    let anonymous = api
        .get("/api/export/", None, &[("objectIds", "ZTF21abiuvdk")])
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// A served PNG's grey levels, top row first, and its size.
fn png_grey(bytes: &[u8]) -> (Vec<u8>, usize, usize) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    buf.truncate(info.buffer_size());
    (buf, info.width as usize, info.height as usize)
}

/// Regression for the review's finding that ZTF stamps were drawn upside-down (north down)
/// and Rubin's rotated: on five supernovae beside catalogued galaxies, the host's light in
/// the served template stamp lies on the side of the transient that the context match's
/// position says, north up and east left, in both axes.
#[tokio::test]
async fn ztf_stamps_show_the_host_on_the_side_the_catalogue_says() {
    let api = Api::on_shared_data();
    let (_, token) = user("stamp_orientation", UserClass::User);
    let t = Some(token.as_str());
    let mut checked = 0;
    for name in [
        "ZTF21abiuvdk",
        "ZTF20aaelulu",
        "ZTF20aajcdad",
        "ZTF21abiblpl",
        "ZTF21abvicne",
    ] {
        let sherlock = api
            .get("/ztf/api/sherlock/object/", t, &[("objectId", name)])
            .await
            .ok();
        let host = &sherlock["crossmatches"][0];
        let (ra_h, dec_h) = (host["raDeg"].as_f64(), host["decDeg"].as_f64());
        let (Some(ra_h), Some(dec_h)) = (ra_h, dec_h) else {
            panic!("{name}: no host position in {sherlock}");
        };
        // The stamps the page shows, and that detection's position (the stamp's centre).
        let page = api.get(&format!("/objects/{name}"), None, &[]).await.text;
        let src = common::between(&page, "src=\"/cutouts/ztf/", "/Science.svg")
            .unwrap_or_else(|| panic!("{name}: no stamp on the page"))
            .to_string();
        let object = api
            .get("/ztf/api/object/", t, &[("objectId", name)])
            .await
            .ok();
        let cand = object["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["candid"].as_i64().map(|c| c.to_string()) == Some(src.clone()))
            .unwrap_or_else(|| panic!("{name}: candidate {src}"));
        let (ra, dec) = (cand["ra"].as_f64().unwrap(), cand["dec"].as_f64().unwrap());
        let mut dra = ra_h - ra;
        if dra > 180.0 {
            dra -= 360.0;
        } else if dra < -180.0 {
            dra += 360.0;
        }
        let east = dra * dec.to_radians().cos() * 3600.0;
        let north = (dec_h - dec) * 3600.0;
        let png = api
            .get(&format!("/cutouts/ztf/{src}/Template.png"), None, &[])
            .await;
        assert_eq!(png.status, StatusCode::OK, "{name}");
        assert!(png.headers["x-solas-orientation"]
            .to_str()
            .unwrap()
            .starts_with("north up, east left"));
        let (grey, w, h) = png_grey(&png.bytes);
        // The light above the stamp's median, weighted: its centroid from the centre, in
        // image terms (x right = west, y up = north).
        let mut sorted = grey.clone();
        sorted.sort_unstable();
        let median = f64::from(sorted[sorted.len() / 2]);
        let (mut sw, mut sx, mut sy) = (0.0, 0.0, 0.0);
        for (i, &g) in grey.iter().enumerate() {
            let wgt = (f64::from(g) - median).max(0.0);
            let (x, y) = ((i % w) as f64, (i / w) as f64);
            sw += wgt;
            sx += wgt * (x - (w as f64 - 1.0) / 2.0);
            sy += wgt * ((h as f64 - 1.0) / 2.0 - y);
        }
        let (west, up) = (sx / sw, sy / sw);
        eprintln!(
            "{name}: host {east:+.1}″ E {north:+.1}″ N; light centroid {:+.1} px E, {up:+.1} px N",
            -west
        );
        // Each axis whose offset is at least a pixel (1.012″) must agree in sign: 9 of the
        // 10 here (ZTF21abvicne's host is 0.6″ north).
        if east.abs() >= 1.0 {
            assert_eq!(-west > 0.0, east > 0.0, "{name}: east–west");
        }
        if north.abs() >= 1.0 {
            assert_eq!(up > 0.0, north > 0.0, "{name}: north–south");
        }
        checked += 1;
    }
    assert_eq!(checked, 5);
}

/// `/api/` lists the endpoints (it answered 404 before), on both base paths, and every
/// listed path exists.
#[tokio::test]
async fn the_api_base_path_lists_its_endpoints() {
    let api = Api::on_shared_data();
    for base in ["/api/", "/api", "/ztf/api/"] {
        let index = api.get(base, None, &[]).await.ok();
        let endpoints = index["endpoints"].as_array().expect("endpoints");
        assert!(endpoints.len() >= 9, "{index}");
        let prefix = if base.starts_with("/ztf") {
            "/ztf/api/"
        } else {
            "/api/"
        };
        for e in endpoints {
            let path = e["path"].as_str().unwrap();
            assert!(path.starts_with(prefix), "{base}: {path}");
            let r = api.get(path, None, &[]).await;
            assert_ne!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        }
        assert_eq!(index["openapi"], "/api/openapi.json");
    }
}

/// One search box: an id in any case opens the object; a position (decimal or
/// sexagesimal) or a TNS name lists the objects of both surveys nearby, with links.
#[tokio::test]
async fn search_finds_objects_by_id_name_tns_name_and_position() {
    let api = Api::on_shared_data();
    let r = api.get("/search", None, &[("q", " ztf21ABIUVDK ")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/objects/ZTF21abiuvdk");
    for q in [
        "00:03:15.43 +16:08:44.5",
        "0.814285 16.145687",
        "00 03 15.43 16 08 44.5",
    ] {
        let r = api.get("/search", None, &[("q", q), ("radius", "3")]).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
        assert!(
            r.text.contains("href=\"/objects/ZTF21abiuvdk\""),
            "{q}: {}",
            r.text
        );
    }
    // A Rubin object by its position.
    let (id, o) = common::richest_rubin_object();
    let pos = format!("{} {}", o.ra, o.dec);
    let r = api.get("/search", None, &[("q", &pos)]).await;
    assert!(
        r.text.contains(&format!("href=\"/objects/{id}\"")),
        "{}",
        r.text
    );
    // Bad input says what it wanted.
    let r = api.get("/search", None, &[("q", "hello")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("TNS name"), "{}", r.text);
    let r = api
        .get("/search", None, &[("q", "1 2"), ("radius", "-1")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // A TNS name, any case and prefix, once TNS is imported (a fresh data directory, its
    // main database in SQLite whichever backend the shared data uses).
    let dir = tempfile::tempdir().unwrap();
    let mut fresh_config = config(dir.path());
    fresh_config.main_db = None;
    fresh_config.lightcurves_url = None;
    let fresh = Api::new(fresh_config);
    let r = fresh.get("/search", None, &[("q", "SN 2021abcd")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let mut watch =
        solas_store::main_db::watch::WatchStore::open(&dir.path().join("solas.db")).unwrap();
    let row = solas_watch::tns::TnsRow {
        id: 1,
        ra: 0.814285,
        decl: 16.145687,
        tns_name: "2021abcd".into(),
        tns_prefix: "SN".into(),
        disc_mag: None,
        disc_mag_filter: None,
        r#type: Some("SN Ia".into()),
        z: None,
        hostz: None,
        host_name: None,
        ext_catalogs: None,
        disc_int_name: None,
        disc_date: None,
        lastmodified_date: None,
        sender: None,
        reporters: None,
        source_group: None,
    };
    watch.import_tns(&[row], 1.5).unwrap();
    let r = fresh.get("/search", None, &[("q", "sn 2021ABCD")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("SN 2021abcd"), "{}", r.text);
}

/// The home page's counts are kept counters (triggers in both backends), equal to the
/// tables' rows after the real ingest, and a row deleted is counted out.
#[tokio::test]
async fn home_counts_are_kept_counters_equal_to_the_tables() {
    let api = Api::on_shared_data();
    let kept_and_counted = |db: &mut solas_store::db::Db, tables: &[&str]| {
        let kept = solas_store::row_counts::row_counts(db).unwrap();
        tables
            .iter()
            .map(|t| {
                let n: i64 = db
                    .query_one(&format!("SELECT count(*) FROM {t}"), &[])
                    .unwrap()
                    .get(0)
                    .unwrap();
                (t.to_string(), kept.get(*t).copied(), n)
            })
            .collect::<Vec<_>>()
    };
    let main = common::with_main(|db| kept_and_counted(db, &["objects", "ztf_objects"]));
    let lc = common::sync(|| {
        let mut db = solas_store::db::Db::open(&common::lightcurve_target()).unwrap();
        kept_and_counted(
            &mut db,
            &["detections", "forced_photometry", "non_detections"],
        )
    });
    for (table, kept, counted) in main.iter().chain(&lc) {
        assert!(*counted > 0, "{table} has rows");
        assert_eq!(*kept, Some(*counted), "{table}");
    }
    // A row deleted is counted out (in a transaction rolled back, leaving the data as it was).
    let (before, during) = common::with_main(|db| {
        let count = |db: &mut solas_store::db::Db| {
            solas_store::row_counts::row_counts(db).unwrap()["ztf_objects"]
        };
        let before = count(db);
        let mut during = 0;
        let _ = db.transaction(|tx| {
            tx.execute(
                "DELETE FROM ztf_objects WHERE \"objectId\" = 'ZTF21abiuvdk'",
                &[],
            )?;
            during = count(tx);
            Err::<(), _>(solas_store::StoreError::Invalid("roll back".into()))
        });
        (before, during)
    });
    assert_eq!(during, before - 1);
    let home = api.get("/", None, &[]).await.text;
    let ztf = main[1].2;
    assert!(
        home.contains(&format!(
            "<span class=\"n\">{ztf}</span><span class=\"label\">ZTF objects"
        )),
        "{home}"
    );
}

/// `/objects` pages through every object of a survey by last detection, newest first,
/// each exactly once, with its context class; the home page maps them.
#[tokio::test]
async fn recent_objects_page_through_every_object_once_newest_first() {
    let api = Api::on_shared_data();
    for (survey, table, key, time) in [
        ("ztf", "ztf_objects", "\"objectId\"", "jdmax"),
        (
            "lsst",
            "objects",
            "CAST(\"diaObjectId\" AS TEXT)",
            "\"lastDiaSourceMjdTai\"",
        ),
    ] {
        let stored: Vec<(String, f64)> = common::with_main(|db| {
            db.query(&format!("SELECT {key}, {time} FROM {table}"), &[])
                .unwrap()
                .iter()
                .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
                .collect()
        });
        let time_of: std::collections::HashMap<&str, f64> =
            stored.iter().map(|(k, t)| (k.as_str(), *t)).collect();
        let mut seen: Vec<String> = Vec::new();
        let mut next = Some(format!("/objects?survey={survey}"));
        let mut pages = 0;
        while let Some(path) = next.take() {
            let page = api.get_link(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
            pages += 1;
            if let Some(rows) = common::between(&page.text, "<tbody>", "</tbody>") {
                seen.extend(
                    rows.split("<a href=\"/objects/")
                        .skip(1)
                        .map(|s| s.split('"').next().unwrap().to_string()),
                );
            }
            next = common::between(&page.text, "id=\"next-page\" href=\"", "\"")
                .map(|h| h.replace("&amp;", "&"));
            assert!(pages < 50, "paging ends");
        }
        let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{survey}: each object once");
        assert_eq!(seen.len(), stored.len(), "{survey}: every object");
        assert!(pages > 1, "{survey}: more than one page");
        let times: Vec<f64> = seen.iter().map(|k| time_of[k.as_str()]).collect();
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "{survey}: newest first"
        );
    }
    // The class shown is the context stage's.
    let class: String = common::with_main(|db| {
        db.query_one(
            "SELECT classification FROM ztf_sherlock_classifications WHERE \"objectId\" = 'ZTF21abiuvdk'",
            &[],
        )
        .unwrap()
        .get(0)
        .unwrap()
    });
    let mut found = false;
    let mut next = Some("/objects?survey=ztf".to_string());
    while let Some(path) = next.take() {
        let page = api.get_link(&path).await.text;
        if let Some(row) = common::between(&page, "/objects/ZTF21abiuvdk\"", "</tr>") {
            assert!(row.contains(&format!("<td>{class}</td>")), "{row}");
            found = true;
        }
        next = common::between(&page, "id=\"next-page\" href=\"", "\"")
            .map(|h| h.replace("&amp;", "&"));
    }
    assert!(found, "ZTF21abiuvdk listed");
    // The home page's sky map: one linked dot per object (fewer than its cap here).
    let home = api.get("/", None, &[]).await.text;
    let map = common::between(&home, "<figure class=\"sky-map\">", "</figure>").expect("sky map");
    let (n_ztf, n_lsst) = common::with_main(|db| {
        let mut n = |t: &str| -> i64 {
            db.query_one(&format!("SELECT count(*) FROM {t}"), &[])
                .unwrap()
                .get(0)
                .unwrap()
        };
        (n("ztf_objects"), n("objects"))
    });
    assert_eq!(
        map.matches("<circle").count() as i64,
        n_ztf + n_lsst,
        "{map}"
    );
}

/// The profile page: a new token shown once works at once and stops working when revoked;
/// a password change needs the current one and ends the user's other sessions.
#[tokio::test]
async fn the_profile_makes_and_revokes_tokens_and_changes_the_password() {
    let api = Api::on_shared_data();
    let (_, first) = user("p15_profile", UserClass::User);
    let (cookie, csrf) = web_session(&api, &first).await;
    let (other_cookie, _) = web_session(&api, &first).await;
    let profile = api.page("/profile", &cookie).await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(profile.text.contains("p15_profile") && profile.text.contains("id=\"tokens\""));
    // Nobody logged in: sent to log in.
    assert_eq!(api.get_link("/profile").await.status, StatusCode::SEE_OTHER);

    let made = api
        .post_form("/profile/tokens", &cookie, &[("csrf", &csrf)])
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text);
    let token = common::between(&made.text, "<code id=\"token-value\">", "</code>")
        .expect("the new token")
        .to_string();
    let cone = [
        ("ra", "0.8143"),
        ("dec", "16.1457"),
        ("radius", "5"),
        ("requestType", "count"),
    ];
    assert_eq!(
        api.get("/api/cone/", Some(&token), &cone).await.status,
        StatusCode::OK
    );
    let seq = common::between(&made.text, "<td>#", "</td>").expect("newest token's number");
    let forged = api
        .post_form(
            &format!("/profile/tokens/{seq}/revoke"),
            &cookie,
            &[("csrf", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let revoked = api
        .post_form(
            &format!("/profile/tokens/{seq}/revoke"),
            &cookie,
            &[("csrf", &csrf)],
        )
        .await;
    assert!(revoked.text.contains("id=\"revoked\""), "{}", revoked.text);
    assert_eq!(
        api.get("/api/cone/", Some(&token), &cone).await.status,
        StatusCode::UNAUTHORIZED
    );

    let change = |current: &'static str, new: &'static str, again: &'static str| {
        let (api, cookie, csrf) = (&api, cookie.clone(), csrf.clone());
        async move {
            api.post_form(
                "/profile/password",
                &cookie,
                &[
                    ("csrf", &csrf),
                    ("current", current),
                    ("new", new),
                    ("again", again),
                ],
            )
            .await
        }
    };
    let r = change(
        "wrong password",
        "a new long password",
        "a new long password",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("current password is wrong"), "{}", r.text);
    let r = change(
        "a long enough password",
        "a new long password",
        "not the same",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = change(
        "a long enough password",
        "a new long password",
        "a new long password",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("id=\"password-changed\""));
    let checked = |password: &'static str| {
        common::with_users(move |u| u.check_password("p15_profile", password).unwrap().is_some())
    };
    assert!(checked("a new long password") && !checked("a long enough password"));
    // This session goes on; the other one has ended.
    assert!(api
        .page("/profile", &cookie)
        .await
        .text
        .contains("p15_profile"));
    assert_eq!(
        api.page("/profile", &other_cookie).await.status,
        StatusCode::SEE_OTHER
    );
}

/// A logged-in browser reads the API's GET endpoints on its session (the pages' data
/// links); a POST on a cookie alone is refused (another site could make a browser send it).
#[tokio::test]
async fn the_web_session_reads_the_api_but_never_posts_to_it() {
    let api = Api::on_shared_data();
    let (_, token) = user("p15_session_api", UserClass::User);
    let (cookie, _) = web_session(&api, &token).await;
    let (id, _) = common::richest_rubin_object();
    let r = api
        .page(&format!("/api/object/?objectId={id}"), &cookie)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = api
        .post_form(
            "/api/annotate/",
            &cookie,
            &[
                ("topic", "x"),
                ("objectId", &id.to_string()),
                ("classification", "SN"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(
        api.get_link(&format!("/api/object/?objectId={id}"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

/// `/docs/api` documents every endpoint of the OpenAPI document, with a curl line.
#[tokio::test]
async fn the_api_documentation_page_covers_every_endpoint() {
    let api = Api::on_shared_data();
    let docs = api.get_link("/docs/api").await;
    assert_eq!(docs.status, StatusCode::OK);
    let spec: Value = serde_json::from_str(&api.get_link("/api/openapi.json").await.text).unwrap();
    // The document itself is linked from the page's first paragraph.
    assert!(docs.text.contains("href=\"/api/openapi.json\""));
    for path in spec["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|p| *p != "/api/openapi.json")
    {
        assert!(
            docs.text.contains(&format!("{path}</code></h2>")),
            "{path} documented"
        );
    }
    assert!(docs.text.contains("lasair_client(") && docs.text.contains("curl -H"));
}

/// The colour of the region PNG at an SVG point of its page (the image spans the map).
fn png_rgb_at(png_bytes: &[u8], x: f64, y: f64) -> [u8; 4] {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let (px, py) = (x as usize, y as usize);
    let i = (py * info.width as usize + px) * 4;
    [buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]
}

/// Every dot of a survey layer in a page's sky map: (object, cx, cy).
fn map_dots(page: &str) -> Vec<(String, f64, f64)> {
    page.split("<a href=\"/objects/")
        .skip(1)
        .filter_map(|s| {
            let id = s.split('"').next()?.to_string();
            let circle = s.split("</a>").next()?;
            let attr = |name: &str| -> Option<f64> {
                circle
                    .split(&format!("{name}=\""))
                    .nth(1)?
                    .split('"')
                    .next()?
                    .parse()
                    .ok()
            };
            Some((id, attr("cx")?, attr("cy")?))
        })
        .collect()
}

/// GW190814 with the real CLU galaxies as hosts: the event page lists the objects inside
/// its 90 % region most probable first, with Δt and densities in stated units, and draws
/// each on the shaded region that holds it; `/events` lists the event.
#[tokio::test]
async fn gw_event_pages_list_hits_and_draw_the_credible_regions() {
    let tmp = tempfile::tempdir().unwrap();
    let main = tmp.path().join("solas.db");
    let mut db =
        solas_store::main_db::connect(&solas_store::db::Target::Sqlite(main.clone())).unwrap();
    let event_mjd = 58709.88240; // 2019-08-14T21:10:39 UTC
    let text =
        std::fs::read_to_string(solas_testdata::shared().join("catalogues/skyportal/CLU_mini.csv"))
            .unwrap();
    for (i, line) in text.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let (ra, dec, dist): (f64, f64, f64) = (
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
            f[3].parse().unwrap(),
        );
        let id = 1_000 + i as i64;
        // First seen 0.5 days (TAI) after the merger.
        db.execute(
            "INSERT INTO objects (\"diaObjectId\", ra, decl, \"firstDiaSourceMjdTai\", \"lastDiaSourceMjdTai\") VALUES (?1, ?2, ?3, ?4, ?4)",
            &[id.into(), ra.into(), dec.into(), (event_mjd + 0.5 + 37.0 / 86400.0).into()],
        )
        .unwrap();
        db.execute(
            "INSERT INTO sherlock_classifications (\"diaObjectId\", classification, distance) VALUES (?1, 'SN', ?2)",
            &[id.into(), dist.into()],
        )
        .unwrap();
    }
    drop(db);
    let skymap =
        std::fs::read(solas_testdata::shared().join("moc/GW190814_LALInference.v1.fits.gz"))
            .unwrap();
    std::fs::create_dir_all(tmp.path().join("skymaps")).unwrap();
    std::fs::write(tmp.path().join("skymaps/1.fits"), &skymap).unwrap();
    let map = solas_watch::Skymap::from_fits(&skymap).unwrap();
    solas_store::main_db::watch::WatchStore::open(&main)
        .unwrap()
        .add_event(&solas_store::main_db::watch::MmaEvent {
            mw_id: 0,
            name: "GW190814".into(),
            event_mjd,
            window_days: 14.0,
            skymap_path: "skymaps/1.fits".into(),
            area10: map.region_area_deg2(10.0),
            area50: map.region_area_deg2(50.0),
            area90: map.region_area_deg2(90.0),
        })
        .unwrap();
    let hits = solas_store::main_db::watch_matcher::retro_match(tmp.path()).unwrap();
    assert_eq!(hits.mma.len(), 82, "82 galaxies inside the 90 % region");

    // Its own SQLite data, whichever backend the shared data uses.
    let api = Api::new(ServeConfig::new(tmp.path(), "127.0.0.1:0".parse().unwrap()));
    let list = api.get_link("/events").await.text;
    assert!(
        list.contains(">GW190814</a>") && list.contains("2019-08-14 21:10:39 UTC"),
        "{list}"
    );
    assert!(list.contains("<td class=\"num\">82</td>"), "{list}");
    let page = api.get_link("/events/1").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let rows = common::between(&page.text, "<tbody>", "</tbody>").expect("hits table");
    let contours: Vec<f64> = rows
        .split("<td class=\"num\">")
        .skip(1)
        .filter_map(|c| c.split(" %</td>").next()?.parse().ok())
        .collect();
    assert_eq!(contours.len(), 82, "every hit on one page");
    assert!(
        contours.windows(2).all(|w| w[0] <= w[1]),
        "most probable first"
    );
    assert!(
        rows.contains("+12.0 h"),
        "first seen half a day after the event (UTC)"
    );
    let png = api.get_link("/events/1/sky.png").await;
    assert_eq!(png.headers[header::CONTENT_TYPE], "image/png");
    // Each hit's dot lies on the shading of the region that holds it: 50 % dark, 90 % light.
    let mut checked = 0;
    let whole_sky =
        common::between(&page.text, "<figure class=\"sky-map\">", "</figure>").expect("sky map");
    for (id, x, y) in map_dots(whole_sky) {
        let n: i64 = id.parse().unwrap();
        let line = text.lines().nth((n - 1_000 + 1) as usize).unwrap();
        let f: Vec<&str> = line.split(',').collect();
        let loc = map
            .locate(f[1].parse().unwrap(), f[2].parse().unwrap())
            .unwrap();
        let rgb = png_rgb_at(&png.bytes, x, y);
        // A whole-sky pixel is about 0.6° across and this 50 % region 2°: only the dots
        // well inside a region are sure to fall on its shading.
        if loc.contour_percent < 30.0 {
            assert_eq!(
                &rgb[..3],
                &[213, 94, 0],
                "object {id} at {x},{y}: contour {}",
                loc.contour_percent
            );
            checked += 1;
        } else if loc.contour_percent < 80.0 {
            assert!(
                [[213, 94, 0], [240, 190, 90]].contains(&[rgb[0], rgb[1], rgb[2]]),
                "object {id} at {x},{y}: contour {}: {rgb:?}",
                loc.contour_percent
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} dots checked");
    // Up close, every hit well inside the 50 % region lies on its shading too.
    let zoom = common::between(&page.text, "<figure class=\"sky-zoom\">", "</figure>")
        .expect("zoomed view");
    let zoom_png = api.get_link("/events/1/zoom.png").await;
    assert_eq!(zoom_png.status, StatusCode::OK);
    let mut close = 0;
    for (id, x, y) in map_dots(zoom) {
        let n: i64 = id.parse().unwrap();
        let line = text.lines().nth((n - 1_000 + 1) as usize).unwrap();
        let f: Vec<&str> = line.split(',').collect();
        let loc = map
            .locate(f[1].parse().unwrap(), f[2].parse().unwrap())
            .unwrap();
        let rgb = png_rgb_at(&zoom_png.bytes, x, y);
        if loc.contour_percent < 45.0 {
            assert_eq!(&rgb[..3], &[213, 94, 0], "object {id} up close");
            close += 1;
        } else if (55.0..88.0).contains(&loc.contour_percent) {
            assert_eq!(
                &rgb[..3],
                &[240, 190, 90],
                "object {id} up close: {}",
                loc.contour_percent
            );
            close += 1;
        }
    }
    assert!(close > 20, "{close} dots checked up close");
    // Far from the event (the map's centre, RA 12 h, Dec 0), the map is the dark sky.
    assert_eq!(&png_rgb_at(&png.bytes, 282.0, 141.0)[..3], &[13, 27, 42]);
    // The densities as the skymap gives them, per square degree.
    let d2 = common::between(rows, "/objects/1000\"", "</tr>").expect("object 1000's row");
    let loc = map
        .locate(
            text.lines()
                .nth(1)
                .unwrap()
                .split(',')
                .nth(1)
                .unwrap()
                .parse()
                .unwrap(),
            text.lines()
                .nth(1)
                .unwrap()
                .split(',')
                .nth(2)
                .unwrap()
                .parse()
                .unwrap(),
        )
        .unwrap();
    let per_deg2 = loc.prob_density_2d / (180.0 / std::f64::consts::PI).powi(2);
    assert!(
        d2.contains(&format!("{per_deg2:.3e}")),
        "{d2} {per_deg2:.3e}"
    );
}

/// A real MOC (MS181101ab's 90 % region) as a watchmap: its page lists the objects inside,
/// draws each on the shaded region, and shows a private one to its owner only.
#[tokio::test]
async fn watchmap_pages_list_hits_and_draw_the_region() {
    let tmp = tempfile::tempdir().unwrap();
    let main = tmp.path().join("solas.db");
    let mut db =
        solas_store::main_db::connect(&solas_store::db::Target::Sqlite(main.clone())).unwrap();
    let bytes =
        std::fs::read(solas_testdata::shared().join("moc/MS181101ab_90pct.moc.fits")).unwrap();
    let moc = solas_watch::watchmap::parse_moc(&bytes).unwrap();
    // Objects on a 0.5° grid inside the MOC (the hits to find), and one in a thousand of
    // the grid outside it.
    let mut inside = Vec::new();
    let mut id = 2_000i64;
    for (n, (i, j)) in (0..720)
        .flat_map(|i| (0..360).map(move |j| (i, j)))
        .enumerate()
    {
        {
            let (ra, dec) = (f64::from(i) * 0.5 + 0.25, f64::from(j) * 0.5 - 89.75);
            if !moc.contains(ra, dec) && n % 1000 != 0 {
                continue;
            }
            db.execute(
                "INSERT INTO objects (\"diaObjectId\", ra, decl, \"lastDiaSourceMjdTai\") VALUES (?1, ?2, ?3, 60000)",
                &[id.into(), ra.into(), dec.into()],
            )
            .unwrap();
            if moc.contains(ra, dec) {
                inside.push(id);
            }
            id += 1;
        }
    }
    drop(db);
    assert!(inside.len() > 10, "{} objects inside", inside.len());
    let owner = 7;
    solas_store::main_db::watch::WatchStore::open(&main)
        .unwrap()
        .add_watchmap(
            owner,
            "ms181101ab",
            "the 90 % region",
            false,
            &bytes,
            moc.area_deg2(),
        )
        .unwrap();
    solas_store::main_db::watch_matcher::retro_match(tmp.path()).unwrap();

    // Its own SQLite data, whichever backend the shared data uses.
    let api = Api::new(ServeConfig::new(tmp.path(), "127.0.0.1:0".parse().unwrap()));
    // Private: nobody else sees it.
    assert_eq!(
        api.get_link("/watchmaps/1").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get_link("/watchmaps/1/sky.png").await.status,
        StatusCode::NOT_FOUND
    );
    common::with_main(|_| ());
    let (_, token) = {
        let users = solas_web::UserStore::open(&tmp.path().join("users.db"));
        let mut users = users.unwrap();
        let made = users
            .add_user(
                "wm_owner",
                "",
                Some("a long enough password"),
                UserClass::User,
            )
            .unwrap();
        assert_eq!(made.0, 1);
        made
    };
    // The owner's user id must be the watchmap's owner.
    solas_store::main_db::connect(&solas_store::db::Target::Sqlite(main.clone()))
        .unwrap()
        .execute("UPDATE watchmaps SET owner = 1", &[])
        .unwrap();
    let (cookie, _) = web_session(&api, &token).await;
    let page = api.page("/watchmaps/1", &cookie).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page
        .text
        .contains(&format!("<td id=\"hit-count\">{}</td>", inside.len())));
    let png = api.page("/watchmaps/1/sky.png", &cookie).await;
    assert_eq!(png.status, StatusCode::OK);
    let dots = map_dots(&page.text);
    assert_eq!(
        dots.len(),
        inside.len().min(100),
        "a dot per hit on the page"
    );
    let listed: std::collections::BTreeSet<i64> =
        dots.iter().map(|(id, _, _)| id.parse().unwrap()).collect();
    assert!(
        listed.iter().all(|id| inside.contains(id)),
        "only objects inside are hits"
    );
    let on_region = dots
        .iter()
        .filter(|(_, x, y)| png_rgb_at(&png.bytes, *x, *y)[..3] == [86, 180, 233])
        .count();
    // Dots on the region's edge may sample the dark sky beside it.
    assert!(
        on_region * 10 >= dots.len() * 8,
        "{on_region} of {} on the shading",
        dots.len()
    );
}

/// ZTF's apparent (DC) magnitudes on the object page equal Lasair-ZTF's own function's on
/// ZTF21abiuvdk's 34 detections (`tests/data/ztf21abiuvdk_dc_mag_lasair.csv`, made by
/// `tools/lasair_dc_mag_reference.py`). The detection table holds every field of every
/// detection.
#[tokio::test]
async fn ztf_apparent_magnitudes_equal_lasairs_and_every_detection_field_is_tabled() {
    let api = Api::on_shared_data();
    let page = api.get_link("/objects/ZTF21abiuvdk").await.text;
    let lc: Value = serde_json::from_str(
        common::between(
            &page,
            "<script type=\"application/json\" id=\"lc-data\">",
            "</script>",
        )
        .expect("lightcurve data"),
    )
    .unwrap();
    assert_eq!(lc["hasDc"], true);
    let mut dc = std::collections::HashMap::new();
    for band in lc["bands"].as_array().unwrap() {
        for p in band["points"].as_array().unwrap() {
            dc.insert(
                p["id"].as_str().unwrap().to_string(),
                (p["dcMag"].as_f64(), p["dcMagErr"].as_f64()),
            );
        }
    }
    let reference = std::fs::read_to_string(
        common::repo().join("crates/solas-web/tests/data/ztf21abiuvdk_dc_mag_lasair.csv"),
    )
    .unwrap();
    let mut compared = 0;
    for line in reference.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (mag, err) = dc[f[0]];
        let (mag, err) = (mag.expect("a DC magnitude"), err.expect("its error"));
        let (want, want_err): (f64, f64) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        if f[1] == "t" {
            // ZTF's fields are 32-bit floats: Solas reads them as their shortest decimal,
            // Python as their exact binary value; they differ in the 7th digit.
            assert!(
                (mag - want).abs() < 1e-5 && (err - want_err).abs() < 1e-6,
                "{line}: {mag} ± {err}"
            );
            compared += 1;
        } else {
            assert!(
                mag < want - 5.0,
                "{line}: isdiffpos 1 is positive, so a real magnitude: {mag}"
            );
        }
    }
    assert_eq!(compared, 34);
    let table =
        common::between(&page, "id=\"detection-table\"", "</table>").expect("detection table");
    assert_eq!(
        table.matches("<tr>").count(),
        1 + 34,
        "a heading row and a row per detection"
    );
    // The sky view marks the host where the sky has it: the transient lies 7.8″ E and 1.0″ N
    // of NGC 7814, so with east left the galaxy is right of and below the centre.
    let view = common::between(&page, "id=\"sky-view\"", "</figure>").expect("sky view");
    assert!(
        view.contains("hips2fits?hips=CDS%2FP%2FDSS2%2Fcolor"),
        "{view}"
    );
    let cx: f64 = common::between(view, "class=\"sky-match\" cx=\"", "\"")
        .unwrap()
        .parse()
        .unwrap();
    let cy: f64 = common::between(view, "class=\"sky-match\" cx=\"", "/circle>")
        .and_then(|c| common::between(c, "cy=\"", "\""))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        cx > 160.0 + 7.0 * 2.5 && cy > 160.0 && cy < 160.0 + 5.0,
        "{cx} {cy}"
    );
    // Every crossmatch near it, best first: NGC 7814 (the host) ranked 1.
    let matches = common::between(&page, "id=\"crossmatches\"", "</table>").expect("crossmatches");
    let first = common::between(matches, "<tbody>", "</tr>").expect("a first match");
    assert!(
        first.contains("<td class=\"num\">1</td>") && first.contains("NGC7814"),
        "{first}"
    );
    for field in ["candid", "magnr", "fwhm", "drb", "distpsnr1", "magzpsci"] {
        assert!(
            table.contains(&format!("<th scope=\"col\">{field}</th>")),
            "{field}"
        );
    }
}

/// Personal tags: added and removed from the object page, listed on `/tags`, seen by their
/// owner only, and joinable in the owner's filters (`tag:LABEL`).
#[tokio::test]
async fn tags_are_personal_shown_on_the_object_and_usable_in_filters() {
    let api = Api::on_shared_data();
    let (_, token) = user("p15_tagger", UserClass::User);
    let (_, other) = user("p15_other_tagger", UserClass::User);
    let (cookie, csrf) = web_session(&api, &token).await;
    let (other_cookie, _) = web_session(&api, &other).await;
    let r = api
        .post_form(
            "/objects/ZTF21abiuvdk/tags",
            &cookie,
            &[("csrf", &csrf), ("tag", "follow_up")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let bad = api
        .post_form(
            "/objects/ZTF21abiuvdk/tags",
            &cookie,
            &[("csrf", &csrf), ("tag", "1 bad")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let forged = api
        .post_form(
            "/objects/ZTF21abiuvdk/tags",
            &cookie,
            &[("csrf", "no"), ("tag", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let page = api.page("/objects/ZTF21abiuvdk", &cookie).await.text;
    let section = common::between(&page, "id=\"tags\"", "</form>\n").unwrap_or(&page);
    assert!(
        page.contains("<a href=\"/tags/follow_up\">follow_up</a>"),
        "{section}"
    );
    assert!(!api
        .page("/objects/ZTF21abiuvdk", &other_cookie)
        .await
        .text
        .contains("/tags/follow_up"));
    let list = api.page("/tags", &cookie).await.text;
    assert!(list.contains("<td class=\"num\">1</td>"), "{list}");
    // A filter of the tagger selects the tagged object; the same filter of another user
    // selects nothing.
    let query = [
        ("selected", "objects.objectId, tag_follow_up.tag"),
        ("tables", "objects, tag:follow_up"),
        ("conditions", ""),
        ("survey", "ztf"),
    ];
    let mine = api.post("/api/query/", Some(&token), &query).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    let rows: Value = serde_json::from_str(&mine.text).unwrap();
    assert_eq!(
        rows,
        serde_json::json!([{"objectId": "ZTF21abiuvdk", "tag": "follow_up"}])
    );
    let theirs = api.post("/api/query/", Some(&other), &query).await;
    assert_eq!(
        serde_json::from_str::<Value>(&theirs.text).unwrap(),
        serde_json::json!([])
    );
    // Removed: gone from the page and the filter.
    let r = api
        .post_form(
            "/objects/ZTF21abiuvdk/tags/remove",
            &cookie,
            &[("csrf", &csrf), ("tag", "follow_up")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!api
        .page("/objects/ZTF21abiuvdk", &cookie)
        .await
        .text
        .contains("/tags/follow_up"));
    let after = api.post("/api/query/", Some(&token), &query).await;
    assert_eq!(
        serde_json::from_str::<Value>(&after.text).unwrap(),
        serde_json::json!([])
    );
}

/// The filter builder: a refused draft comes back whole with the reason beside the field
/// at fault; a saved filter can be edited, copied and deleted by its owner; a test run
/// downloads as CSV with every row; the owner sees its problems.
#[tokio::test]
async fn filters_are_edited_copied_deleted_and_test_runs_download_as_csv() {
    let api = Api::on_shared_data();
    let (_, token) = user("p15_builder", UserClass::User);
    let (cookie, csrf) = web_session(&api, &token).await;
    let draft = |name: &'static str, conditions: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.to_string()),
            ("survey", "ztf".to_string()),
            ("selected", "objects.objectId, objects.ncand".to_string()),
            ("tables", "objects".to_string()),
            ("conditions", conditions.to_string()),
            ("output", "kafka".to_string()),
        ]
    };
    let post = |path: &'static str, pairs: Vec<(&'static str, String)>| {
        let (api, cookie) = (&api, cookie.clone());
        async move {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            api.post_form(path, &cookie, &pairs).await
        }
    };
    // The schema browser says what a column is and in what unit.
    let builder_page = api.page("/filters", &cookie).await.text;
    assert!(
        builder_page
            .contains("<td><code>lastDiaSourceMjdTai</code></td><td>float</td><td>MJD TAI</td>"),
        "schema browser"
    );
    // Refused: the reason right after the WHERE field, the draft kept.
    let r = post("/filters", draft("p15_bad", "objects.nosuch > 1")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let after_where = r
        .text
        .split("name=\"conditions\"")
        .nth(1)
        .expect("the WHERE field");
    assert!(
        after_where
            .split("<label")
            .next()
            .unwrap()
            .contains("class=\"error field-error\""),
        "the error beside WHERE: {after_where}"
    );
    assert!(r.text.contains("objects.nosuch &gt; 1"), "the draft kept");
    // Saved, then edited.
    let r = post("/filters", draft("p15_good", "objects.ncand >= 2")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let location = r.headers[header::LOCATION].to_str().unwrap().to_string();
    let id: i64 = location.trim_start_matches("/filters/").parse().unwrap();
    let detail = api.page(&location, &cookie).await.text;
    for link in [
        "id=\"edit-filter\"",
        "id=\"copy-filter\"",
        "id=\"delete-filter\"",
        "id=\"filter-problems\"",
    ] {
        assert!(detail.contains(link), "{link}");
    }
    let edit = api.page(&format!("/filters/{id}/edit"), &cookie).await.text;
    assert!(
        edit.contains(&format!("action=\"/filters/{id}\""))
            && edit.contains("objects.ncand &gt;= 2")
    );
    let r = api
        .post_form(
            &location,
            &cookie,
            &draft("p15_good", "objects.ncand >= 3")
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(api
        .page(&location, &cookie)
        .await
        .text
        .contains("objects.ncand &gt;= 3"));
    // Copied: a new filter's builder.
    let copy = api.page(&format!("/filters/{id}/copy"), &cookie).await.text;
    assert!(copy.contains("value=\"p15_good copy\"") && copy.contains("action=\"/filters\""));
    // The test run as CSV: every row the query API gives.
    let csv = post(
        "/filters/test.csv",
        draft("x", "objects.ncand >= 1 ORDER BY objects.objectId"),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], "objectId,ncand");
    let all = api
        .post(
            "/api/query/",
            Some(&token),
            &[
                ("selected", "objects.objectId"),
                ("tables", "objects"),
                ("conditions", "objects.ncand >= 1"),
                ("survey", "ztf"),
                ("limit", "10000"),
            ],
        )
        .await;
    let n = serde_json::from_str::<Value>(&all.text)
        .unwrap()
        .as_array()
        .unwrap()
        .len();
    assert_eq!(lines.len() - 1, n, "every row");
    // The test run on the page counts them all and shows the first 50.
    let t = post(
        "/filters/test",
        draft("x", "objects.ncand >= 1 ORDER BY objects.objectId"),
    )
    .await;
    let total: usize = common::between(&t.text, "data-total=\"", "\"")
        .unwrap()
        .parse()
        .unwrap();
    let shown: usize = common::between(&t.text, "data-rows=\"", "\"")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!((total, shown), (n, n.min(50)));
    // Email output: refused without an address, kept with one (shown to the owner).
    let mut by_mail = draft("p15_mail", "objects.ncand >= 2");
    by_mail.retain(|(k, _)| *k != "output");
    by_mail.push(("output", "email".into()));
    let r = post("/filters", by_mail.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("needs the address"), "{}", r.text);
    by_mail.push(("email", "observer@example.org".into()));
    let r = post("/filters", by_mail).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let mail_page = api
        .page(r.headers[header::LOCATION].to_str().unwrap(), &cookie)
        .await
        .text;
    assert!(
        mail_page.contains("email to observer@example.org"),
        "{mail_page}"
    );
    // Webhooks: only https on a host the operator allows.
    let mut with_hosts = config(common::shared_data());
    with_hosts.webhook_hosts = vec!["hooks.example.org".into()];
    let hooked = Api::new(with_hosts);
    for (url, status) in [
        ("http://hooks.example.org/a", StatusCode::BAD_REQUEST),
        ("https://intranet.local/a", StatusCode::BAD_REQUEST),
        ("https://hooks.example.org/a", StatusCode::SEE_OTHER),
    ] {
        let mut d = draft("p15_hook", "objects.ncand >= 2");
        d.retain(|(k, _)| *k != "output");
        d.push(("output", "webhook".into()));
        d.push(("webhook", url.into()));
        let pairs: Vec<(&str, &str)> = d.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = hooked.post_form("/filters", &cookie, &pairs).await;
        assert_eq!(r.status, status, "{url}: {}", r.text);
    }
    // Deleted by its owner; gone.
    let r = post_delete(&api, &cookie, &csrf, id).await;
    assert_eq!(r, StatusCode::SEE_OTHER);
    assert_eq!(
        api.page(&location, &cookie).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn post_delete(api: &Api, cookie: &str, csrf: &str, id: i64) -> StatusCode {
    api.post_form(&format!("/filters/{id}/delete"), cookie, &[("csrf", csrf)])
        .await
        .status
}

/// The user points of an object page's lightcurve data.
fn page_user_points(page: &str) -> Vec<Value> {
    let lc: Value = serde_json::from_str(
        common::between(
            page,
            "<script type=\"application/json\" id=\"lc-data\">",
            "</script>",
        )
        .expect("lightcurve data"),
    )
    .unwrap();
    lc["user"].as_array().cloned().unwrap_or_default()
}

/// Users' own photometry: an upload with a bad line stores nothing and names the line; a
/// private upload is drawn for its owner only and served to them by the API; a public one
/// for everyone; the owner takes an upload back.
#[tokio::test]
async fn users_photometry_is_uploaded_whole_drawn_and_served() {
    let api = Api::on_shared_data();
    let (_, a) = user("p15_phot_a", UserClass::User);
    let (_, b) = user("p15_phot_b", UserClass::User);
    let (a_cookie, a_csrf) = web_session(&api, &a).await;
    let (b_cookie, b_csrf) = web_session(&api, &b).await;
    let object = "/objects/ZTF21abiuvdk";
    let bad = "mjd,band,mag,mag_err,telescope\n59450.1,r,16.2,0.05,LT\n59451.1,r,bright,0.05,LT\n";
    let r = api
        .post_form(
            &format!("{object}/photometry"),
            &a_cookie,
            &[("csrf", &a_csrf), ("csv", bad)],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text
            .contains("line 3: mag &quot;bright&quot; is not a number"),
        "{}",
        r.text
    );
    assert!(
        page_user_points(&api.page(object, &a_cookie).await.text).is_empty(),
        "nothing half-stored"
    );
    let good = "mjd,band,mag,mag_err,telescope\n59450.1,r,16.2,0.05,LT\n59452.1,V,15.9,0.04,NOT\n";
    let r = api
        .post_form(
            &format!("{object}/photometry"),
            &a_cookie,
            &[("csrf", &a_csrf), ("csv", good)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let mine = page_user_points(&api.page(object, &a_cookie).await.text);
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|p| p["mine"] == true));
    assert_eq!(mine[1]["band"], "V");
    // Flux from the AB magnitude: 10^((31.4 − 16.2) / 2.5) nJy.
    let flux = mine[0]["flux"].as_f64().unwrap();
    assert!((flux - 10f64.powf((31.4 - 16.2) / 2.5)).abs() < 1e-6 * flux);
    assert!(
        page_user_points(&api.page(object, &b_cookie).await.text).is_empty(),
        "private"
    );
    let served = api
        .get(
            "/api/object/",
            Some(&a),
            &[("objectId", "ZTF21abiuvdk"), ("survey", "ztf")],
        )
        .await;
    let served: Value = serde_json::from_str(&served.text).unwrap();
    assert_eq!(served["userPhotometry"].as_array().map(Vec::len), Some(2));
    let others: Value = serde_json::from_str(
        &api.get(
            "/api/object/",
            Some(&b),
            &[("objectId", "ZTF21abiuvdk"), ("survey", "ztf")],
        )
        .await
        .text,
    )
    .unwrap();
    assert!(others.get("userPhotometry").is_none());
    // B's public point: everyone sees it.
    let r = api
        .post_form(
            &format!("{object}/photometry"),
            &b_cookie,
            &[
                ("csrf", &b_csrf),
                ("csv", "mjd,band,flux,flux_err\n59455.5,g,20000,400\n"),
                ("public", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let seen_by_a = page_user_points(&api.page(object, &a_cookie).await.text);
    assert_eq!(seen_by_a.len(), 3);
    assert_eq!(seen_by_a.iter().filter(|p| p["mine"] == false).count(), 1);
    assert_eq!(
        page_user_points(&api.get_link(object).await.text).len(),
        1,
        "public to nobody logged in"
    );
    // A takes theirs back.
    let upload = mine[0]["upload"].as_i64().unwrap();
    let r = api
        .post_form(
            &format!("{object}/photometry/{upload}/delete"),
            &a_cookie,
            &[("csrf", &a_csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page_user_points(&api.page(object, &a_cookie).await.text).len(),
        1
    );
    // Clean up B's, so other tests see the object as the alerts made it.
    let b_upload = seen_by_a.iter().find(|p| p["mine"] == false).unwrap()["upload"]
        .as_i64()
        .unwrap();
    api.post_form(
        &format!("{object}/photometry/{b_upload}/delete"),
        &b_cookie,
        &[("csrf", &b_csrf)],
    )
    .await;
}

/// With the server given dust maps, a ZTF object's summary shows E(B−V) (its objects row
/// has no such column): here synthetic maps, 0.25 mag over the southern Galactic sky where
/// ZTF21abiuvdk lies (b = −45°).
#[tokio::test]
async fn ztf_summary_shows_reddening_from_the_servers_dust_maps() {
    use solas_features::dust::{write_test_fits, NORTH_FILE, SOUTH_FILE};
    let dust = tempfile::tempdir().unwrap();
    std::fs::write(
        dust.path().join(NORTH_FILE),
        write_test_fits(8, 8, &[0.5; 64]),
    )
    .unwrap();
    std::fs::write(
        dust.path().join(SOUTH_FILE),
        write_test_fits(8, 8, &[0.25; 64]),
    )
    .unwrap();
    let mut with_dust = config(common::shared_data());
    with_dust.dust_dir = Some(dust.path().to_path_buf());
    let api = Api::new(with_dust);
    let page = api.get_link("/objects/ZTF21abiuvdk").await.text;
    assert!(page.contains("<th>E(B−V)</th><td>0.250 mag</td>"), "{page}");
    // Without the maps there is nothing to show.
    let plain = Api::on_shared_data()
        .get_link("/objects/ZTF21abiuvdk")
        .await
        .text;
    assert!(!plain.contains("E(B−V)"));
}

/// The built-in classifiers ran when the shared alerts were ingested: the object page says
/// what they say now (the consensus) and lists every score they gave, with its alert.
#[tokio::test]
async fn the_object_page_shows_the_classifiers_consensus_and_every_score() {
    let api = Api::on_shared_data();
    // ZTF21abiuvdk: three of its alerts pass the kilonova model's cuts.
    let page = api.get("/objects/ZTF21abiuvdk", None, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let section = common::between(&page.text, "id=\"classifiers\"", "<h2>Annotations")
        .unwrap_or_else(|| panic!("no classifiers section: {}", page.text));
    assert!(section.contains("kilonova: "), "{section}");
    assert!(section.contains("do not contradict"), "{section}");
    assert_eq!(section.matches("<td>kilonova</td>").count(), 3, "{section}");
    // The annotation's scores read as a probability with the features folded away, not as
    // the raw classdict JSON.
    let annotations = page.text.split("<h2>Annotations").nth(1).unwrap();
    assert!(annotations.contains("<strong>p = 0."), "{annotations}");
    assert!(annotations.contains("features (10)"), "{annotations}");
    assert!(
        !annotations.contains("&quot;probability&quot;"),
        "{annotations}"
    );
    // A Rubin object: SuperNNova's score of its alert.
    let (id, _) = common::richest_rubin_object();
    let page = api.get(&format!("/objects/{id}"), None, &[]).await;
    let section = common::between(&page.text, "id=\"classifiers\"", "<h2>Annotations")
        .unwrap_or_else(|| panic!("no classifiers section: {}", page.text));
    assert!(section.contains("snn_sn: "), "{section}");
    assert!(section.contains("<td>snn_sn</td>"), "{section}");
}

/// A Rubin object and a ZTF object linked as counterparts (here by hand, between
/// ZTF21abiuvdk and the richest Rubin object; the filter stage's linking is tested in the
/// pipeline's tests): each object page links the other and carries its detections for the
/// plot, and `/api/object/` answers them with the exact 64-bit id.
#[tokio::test]
async fn the_object_pages_and_api_show_the_counterparts_lightcurve() {
    let api = Api::on_shared_data();
    let (id, rubin) = common::richest_rubin_object();
    common::with_main(|db| {
        db.execute(
            "INSERT INTO counterparts (\"diaObjectId\", \"objectId\", arcsec)
             VALUES (?1, 'ZTF21abiuvdk', 0.4) ON CONFLICT DO NOTHING",
            &[solas_store::db::Value::Int(id)],
        )
    })
    .unwrap();
    let lc_of = |page: &str| -> Value {
        serde_json::from_str(
            common::between(
                page,
                "<script type=\"application/json\" id=\"lc-data\">",
                "</script>",
            )
            .expect("lightcurve data"),
        )
        .unwrap()
    };
    let points = |c: &Value| -> usize {
        c["bands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["points"].as_array().unwrap().len())
            .sum()
    };
    let ztf_detections = common::ztf_object("ZTF21abiuvdk").sources.len();

    let page = api.get_link("/objects/ZTF21abiuvdk").await;
    assert_eq!(page.status, StatusCode::OK);
    let section = common::between(&page.text, "id=\"counterparts\"", "</ul>").unwrap();
    assert!(
        section.contains(&format!("/objects/{id}?survey=lsst")),
        "{section}"
    );
    let lc = lc_of(&page.text);
    let cp = &lc["counterparts"][0];
    assert_eq!(cp["survey"], "Rubin");
    assert_eq!(cp["name"], id.to_string());
    assert_eq!(cp["timescale"], "TAI");
    assert_eq!(points(cp), rubin.sources.len());

    let page = api.get_link(&format!("/objects/{id}")).await;
    let section = common::between(&page.text, "id=\"counterparts\"", "</ul>").unwrap();
    assert!(
        section.contains("/objects/ZTF21abiuvdk?survey=ztf"),
        "{section}"
    );
    let lc = lc_of(&page.text);
    assert_eq!(lc["counterparts"][0]["timescale"], "UTC");
    assert_eq!(points(&lc["counterparts"][0]), ztf_detections);

    // The API, both ways; the Rubin id as an integer, exact.
    let (_, token) = user("counterpart_carla", UserClass::User);
    let t = Some(token.as_str());
    let ztf = api
        .get(
            "/api/object/",
            t,
            &[("objectId", "ZTF21abiuvdk"), ("survey", "ztf")],
        )
        .await
        .ok();
    let cps = ztf["counterparts"].as_array().unwrap();
    assert_eq!(cps.len(), 1);
    assert_eq!(cps[0]["objectId"].as_i64(), Some(id));
    assert!(
        cps[0]["objectId"].is_i64(),
        "an integer, not a float or a string"
    );
    assert_eq!(
        cps[0]["detections"].as_array().unwrap().len(),
        rubin.sources.len()
    );
    let id_s = id.to_string();
    let lsst = api
        .get("/api/object/", t, &[("objectId", &id_s)])
        .await
        .ok();
    let cps = lsst["lasairData"]["counterparts"].as_array().unwrap();
    assert_eq!(cps[0]["objectId"], "ZTF21abiuvdk");
    assert_eq!(
        cps[0]["detections"].as_array().unwrap().len(),
        ztf_detections
    );
    let lite = api
        .get("/api/object/", t, &[("objectId", &id_s), ("lite", "true")])
        .await
        .ok();
    assert!(lite["lasairData"].get("counterparts").is_none());
}

/// The completeness ledger of the shared data: each Rubin night's visits with the alerts
/// the shared files hold for them (decoded here, apart from the pipeline), every stage
/// that ran equal to decoding; the status page shows it.
#[tokio::test]
async fn the_ledger_counts_every_visits_alerts_through_every_stage() {
    let api = Api::on_shared_data();
    let (_, token) = user("ledger_lena", UserClass::User);
    let t = Some(token.as_str());
    // What the shared Rubin files hold: alerts per (night, visit).
    let decoder =
        solas_decode::Decoder::configured(Some(&solas_testdata::lsst_schema_dir()), None).unwrap();
    let mut expected: std::collections::BTreeMap<(i64, i64), i64> = Default::default();
    for f in solas_testdata::real_alert_files() {
        for (_, a) in decoder.decode(&std::fs::read(f).unwrap()).unwrap().records {
            let a = a.unwrap();
            if a.survey == solas_core::Survey::Lsst {
                let night = solas_core::night::night(a.survey, a.mjd);
                *expected.entry((night, a.visit.unwrap())).or_default() += 1;
            }
        }
    }
    assert!(expected.len() > 1);
    let nights: std::collections::BTreeSet<i64> = expected.keys().map(|k| k.0).collect();
    for night in nights {
        let answer = api
            .get(
                "/api/ledger/",
                t,
                &[("night", &night.to_string()), ("survey", "lsst")],
            )
            .await
            .ok();
        let n = &answer[0];
        assert_eq!(answer.as_array().unwrap().len(), 1, "{answer}");
        assert_eq!(n["night"], night);
        let steps = n["steps_run"].as_array().unwrap();
        for v in n["visits"].as_array().unwrap() {
            let visit = v["visit"].as_i64().unwrap();
            assert_eq!(
                v["decoded"].as_i64(),
                expected.get(&(night, visit)).copied(),
                "night {night} visit {visit}"
            );
            for step in steps {
                let step = step.as_str().unwrap();
                assert_eq!(v[step], v["decoded"], "{step} of visit {visit}");
            }
        }
        let visits = n["visits"].as_array().unwrap().len();
        assert_eq!(
            visits,
            expected.keys().filter(|k| k.0 == night).count(),
            "{n}"
        );
        assert!(n["sky_deg2"].as_f64().unwrap() > 0.0);
    }
    // Bad parameters are refused as the other endpoints refuse them.
    let r = api.get("/api/ledger/", t, &[("night", "yesterday")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let page = api.get_link("/status").await;
    assert!(page.text.contains("id=\"ledger\""), "{}", page.text);
    // Each night's row links its page: every visit, and the sky to download.
    let night = *expected.keys().map(|(n, _)| n).max().unwrap();
    let link = format!("/ledger/lsst/{night}");
    assert!(
        page.text.contains(&format!("href=\"{link}\"")),
        "{}",
        page.text
    );
    let page = api.get_link(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let table = common::between(&page.text, "id=\"ledger-visits\"", "</table>").unwrap();
    for ((n, visit), _) in expected.iter().filter(|(k, _)| k.0 == night) {
        assert!(
            table.contains(&format!("<td>{visit}</td>")),
            "visit {visit} of {n}: {table}"
        );
    }
    let sky = api.get_link(&format!("{link}/sky.fits")).await;
    assert_eq!(sky.status, StatusCode::OK);
    let moc = solas_watch::parse_moc(&sky.bytes).unwrap();
    assert!(moc.area_deg2() > 0.0);
    assert_eq!(
        api.get_link("/ledger/lsst/19990101").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get_link("/ledger/hst/20250905").await.status,
        StatusCode::NOT_FOUND
    );
}
