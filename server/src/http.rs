//! The relay's operations listener (TCP, loopback by default): `/metrics` in the
//! Prometheus text format, `/healthz` (the process is alive), `/readyz` (the store is open
//! and the relay is not shutting down) and the JSON admin API under `/api/` behind the
//! admin token ([`crate::admin_token`]). The admin API carries the same requests as the
//! admin socket ([`crate::admin::execute`]), so both log every action alike;
//! `GET /api/export/{table}` streams one table of a scope's export as a download
//! ([`export`], logged the same way). `/` serves the operator's web console
//! ([`crate::console`]) over that API.
//!
//! Started before the store opens, so `/healthz` answers while `/readyz` says why the
//! relay is not ready yet: `run(listener, ops, shutdown)`; tests bind `127.0.0.1:0`.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gridsync_core::ids::GridPath;
use gridsync_core::model::{Grants, Role};
use serde::Deserialize;

use crate::admin::{self, AdminRequest, AdminResponse, Caller, Via};
use crate::admin_token;
use crate::error::{Context, Result};
use crate::hub::Hub;

mod export;

/// What the listener serves from: the data directory (for the admin token), the hub
/// once the store is open, and whether the relay is shutting down.
#[derive(Debug)]
pub struct Ops {
    data_dir: PathBuf,
    hub: OnceLock<Arc<Hub>>,
    draining: AtomicBool,
    stuck_after: Duration,
}

impl Ops {
    /// Serving from `data_dir`; an active device unseen for `stuck_after` is flagged.
    pub fn new(data_dir: PathBuf, stuck_after: Duration) -> Arc<Self> {
        Arc::new(Ops {
            data_dir,
            hub: OnceLock::new(),
            draining: AtomicBool::new(false),
            stuck_after,
        })
    }

    /// The store is open: `/readyz` answers ready, metrics and the admin API work.
    pub fn opened(&self, hub: Arc<Hub>) {
        let _ = self.hub.set(hub);
    }

    /// The relay is shutting down: `/readyz` answers not ready from now on.
    pub fn draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    fn hub(&self) -> Option<Arc<Hub>> {
        self.hub.get().cloned()
    }

    fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

fn not_open() -> Response {
    unavailable("the store is not open yet")
}

fn unavailable(why: &str) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response()
}

/// Binds the listener (`127.0.0.1:0` picks a free port: read it back from the listener).
pub async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for HTTP on {addr}"))
}

/// Serves until `shutdown` completes.
pub async fn run(
    listener: tokio::net::TcpListener,
    ops: Arc<Ops>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/devices", get(list_devices).post(add_device))
        .route("/api/devices/{device}", get(show_device))
        .route("/api/devices/{device}/{action}", post(device_action))
        .route("/api/activity", get(activity))
        .route("/api/export/{table}", get(export::download))
        .merge(crate::console::routes())
        .with_state(ops);
    tracing::info!(addr = ?listener.local_addr().ok(), "operations listener serving");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("the HTTP listener failed")
}

async fn readyz(State(ops): State<Arc<Ops>>) -> Response {
    if ops.is_draining() {
        return unavailable("shutting down");
    }
    match ops.hub() {
        Some(_) => "ready\n".into_response(),
        None => not_open(),
    }
}

async fn metrics(State(ops): State<Arc<Ops>>) -> Response {
    let Some(hub) = ops.hub() else {
        return not_open();
    };
    let text = tokio::task::spawn_blocking(move || hub.metrics().encode(hub.store_gauges())).await;
    match text {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The refusal when the request does not carry the admin token (logged), `None` when it
/// does.
fn refused(ops: &Ops, headers: &HeaderMap, action: &str) -> Option<Response> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let refused = admin_token::check(&ops.data_dir, auth).err()?;
    tracing::warn!(target: "gridsync_relay::admin", via = "http", action, %refused, "admin request refused");
    let status = match refused {
        admin_token::Refused::NotSet => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    Some(error(status, refused.to_string()))
}

/// Runs an admin request after checking the admin token.
async fn admin_call(ops: Arc<Ops>, headers: &HeaderMap, req: AdminRequest) -> Response {
    if let Some(refusal) = refused(&ops, headers, req.action()) {
        return refusal;
    }
    let Some(hub) = ops.hub() else {
        return not_open();
    };
    let caller = Caller {
        via: Via::Http,
        stuck_after: ops.stuck_after,
    };
    let done = tokio::task::spawn_blocking(move || admin::try_execute(&hub, req, caller)).await;
    match done {
        Ok(Ok(resp @ AdminResponse::Enrolled { .. })) => {
            (StatusCode::CREATED, Json(resp)).into_response()
        }
        Ok(Ok(resp)) => Json(resp).into_response(),
        Ok(Err(e @ gridsync_core::Error::Invalid { .. })) => {
            error(StatusCode::BAD_REQUEST, e.to_string())
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the admin task failed".into(),
        ),
    }
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(AdminResponse::Error { message })).into_response()
}

async fn list_devices(State(ops): State<Arc<Ops>>, headers: HeaderMap) -> Response {
    admin_call(ops, &headers, AdminRequest::List).await
}

async fn show_device(
    State(ops): State<Arc<Ops>>,
    Path(device): Path<String>,
    headers: HeaderMap,
) -> Response {
    admin_call(ops, &headers, AdminRequest::Show { device }).await
}

/// `GET /api/activity?days=N`: changes per grid and UTC day, the last `N` days (14
/// unless given, 1 to [`crate::hub::MAX_ACTIVITY_DAYS`]).
async fn activity(
    State(ops): State<Arc<Ops>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut days = 14;
    for (name, value) in query
        .iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|p| p.split_once('='))
    {
        if name == "days" {
            match value.parse() {
                Ok(n) => days = n,
                Err(_) => {
                    // Who may not ask learns nothing, not even that the question was bad.
                    if let Some(refusal) = refused(&ops, &headers, "activity") {
                        return refusal;
                    }
                    let max = crate::hub::MAX_ACTIVITY_DAYS;
                    let message = format!("days={value:?}: a number of days, 1 to {max}");
                    return error(StatusCode::BAD_REQUEST, message);
                }
            }
        }
    }
    admin_call(ops, &headers, AdminRequest::Activity { days }).await
}

/// The body of `POST /api/devices`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDevice {
    name: String,
    worker: String,
    #[serde(default)]
    display_name: Option<String>,
    roles: Vec<String>,
    scopes: Vec<String>,
}

/// The body of `POST /api/devices/{device}/rescope`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rescope {
    scopes: Vec<String>,
}

async fn add_device(
    State(ops): State<Arc<Ops>>,
    headers: HeaderMap,
    body: std::result::Result<Json<NewDevice>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let new = match body {
        Ok(Json(new)) => new,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let grants = match grants(new.worker, new.display_name, &new.roles, &new.scopes) {
        Ok(g) => g,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let req = AdminRequest::Add {
        name: new.name,
        grants,
    };
    admin_call(ops, &headers, req).await
}

fn grants(
    worker: String,
    display_name: Option<String>,
    roles: &[String],
    scopes: &[String],
) -> std::result::Result<Grants, String> {
    let roles = roles
        .iter()
        .map(|r| Role::from_user(r))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Grants {
        display_name: display_name.unwrap_or_else(|| worker.clone()),
        worker,
        roles,
        scopes: parse_scopes(scopes)?,
    })
}

fn parse_scopes(scopes: &[String]) -> std::result::Result<Vec<GridPath>, String> {
    scopes
        .iter()
        .map(|s| GridPath::parse(s).map_err(|e| e.to_string()))
        .collect()
}

async fn device_action(
    State(ops): State<Arc<Ops>>,
    Path((device, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let req = match action.as_str() {
        "revoke" => AdminRequest::Revoke { device },
        "wipe" => AdminRequest::Wipe { device },
        "token" => AdminRequest::RotateToken { device },
        "rescope" => match serde_json::from_slice::<Rescope>(&body).map_err(|e| e.to_string()) {
            Ok(r) => match parse_scopes(&r.scopes) {
                Ok(scopes) => AdminRequest::Rescope { device, scopes },
                Err(message) => return error(StatusCode::BAD_REQUEST, message),
            },
            Err(message) => return error(StatusCode::BAD_REQUEST, message),
        },
        other => {
            let message = format!("no action {other:?}: revoke, wipe, rescope or token");
            return error(StatusCode::NOT_FOUND, message);
        }
    };
    admin_call(ops, &headers, req).await
}
