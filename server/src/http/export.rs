//! `GET /api/export/{table}?scope=GRID&format=csv|jsonl`: one table of the export
//! ([`crate::export`]) as a download, byte for byte the file `gridsync-relay export`
//! writes for it. A blocking thread reads the store and sends the bytes in chunks through
//! a bounded channel into the response body: no table is ever held whole in memory, and a
//! slow client slows the reader down. Logged like every admin action (target
//! `gridsync_relay::admin`, `via="http"`, `action="export"`).

use std::io::{self, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream;
use gridsync_core::ids::GridPath;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Ops, error, not_open, refused};
use crate::export::{ExportError, ExportFormat, Table};
use crate::hub::Hub;

/// Bytes per chunk of the body.
const CHUNK: usize = 64 * 1024;
/// Chunks on their way between the store reader and the client.
const IN_FLIGHT: usize = 4;

/// What a download asks for.
#[derive(Debug)]
struct Download {
    scope: GridPath,
    table: Table,
    format: ExportFormat,
}

/// Why a download's request cannot be served (`400`).
#[derive(Debug, thiserror::Error)]
enum BadDownload {
    /// `scope=` is missing.
    #[error("scope= is missing: the grid subtree to export (scope=ankang/hanbin)")]
    NoScope,
    /// A parameter the endpoint does not take.
    #[error("no parameter {0:?}: scope and format")]
    Unknown(String),
    /// A parameter given twice.
    #[error("{0}= is given twice")]
    Repeated(String),
    /// The scope is not a grid path.
    #[error(transparent)]
    Scope(gridsync_core::Error),
    /// No such table or format, or the table is not in the format.
    #[error(transparent)]
    Export(#[from] ExportError),
}

impl Download {
    /// `table` from the path, `scope=` and `format=` (CSV unless given) from the query.
    fn parse(table: &str, query: Option<&str>) -> Result<Self, BadDownload> {
        let table = Table::parse(table)?;
        let (mut scope, mut format) = (None, None);
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let slot = match name.as_ref() {
                "scope" => &mut scope,
                "format" => &mut format,
                _ => return Err(BadDownload::Unknown(name.into_owned())),
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(BadDownload::Repeated(name.into_owned()));
            }
        }
        let scope = scope.ok_or(BadDownload::NoScope)?;
        let scope = GridPath::parse(&scope).map_err(BadDownload::Scope)?;
        let format = format
            .as_deref()
            .map_or(Ok(ExportFormat::Csv), ExportFormat::parse)?;
        table.check_format(format)?;
        Ok(Download {
            scope,
            table,
            format,
        })
    }

    fn headers(&self) -> [(header::HeaderName, String); 3] {
        let content_type = match self.format {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Jsonl => "application/x-ndjson",
        };
        let file = self.table.file_name(self.format);
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ]
    }
}

/// `GET /api/export/{table}`: the admin token first, then the request, then the stream.
pub(super) async fn download(
    State(ops): State<Arc<Ops>>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refused(&ops, &headers, "export") {
        return refusal;
    }
    let req = match Download::parse(&table, query.as_deref()) {
        Ok(req) => req,
        Err(e) => {
            tracing::warn!(target: "gridsync_relay::admin", via = "http", action = "export", table, error = %e, "admin action failed");
            return error(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    let Some(hub) = ops.hub() else {
        return not_open();
    };
    let headers = req.headers();
    let (tx, mut rx) = mpsc::channel(IN_FLIGHT);
    let out = Chunks {
        buf: Vec::with_capacity(CHUNK),
        tx,
        ops,
    };
    let task = tokio::task::spawn_blocking(move || export(&hub, &req, out));
    // Until the first chunk the status can still say that the export failed.
    let first = match rx.recv().await {
        Some(chunk) => chunk,
        None => match outcome(task).await {
            Ok(()) => return (headers, Body::empty()).into_response(),
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
    };
    (headers, Body::from_stream(body(first, rx, task))).into_response()
}

/// The chunks as they come, then the export's outcome: a failure ends the body with an
/// error, so the client sees a broken download rather than a short file.
fn body(
    first: Bytes,
    rx: mpsc::Receiver<Bytes>,
    task: JoinHandle<Result<u64, ExportError>>,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send {
    let rest = stream::unfold(Some((rx, task)), |feed| async move {
        let (mut rx, task) = feed?;
        match rx.recv().await {
            Some(chunk) => Some((Ok(chunk), Some((rx, task)))),
            None => outcome(task).await.err().map(|e| (Err(e), None)),
        }
    });
    stream::iter([Ok(first)]).chain(rest)
}

/// How the export task ended, once its channel is closed.
async fn outcome(task: JoinHandle<Result<u64, ExportError>>) -> io::Result<()> {
    match task.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(io::Error::other(e)),
        Err(_) => Err(io::Error::other("the export task failed")),
    }
}

/// Writes the table into `out` (on a blocking thread) and logs the outcome.
fn export(hub: &Hub, req: &Download, out: Chunks) -> Result<u64, ExportError> {
    let result = hub.export_table(&req.scope, req.table, req.format, out);
    let (scope, table, format) = (req.scope.as_str(), req.table.name(), req.format.as_str());
    match &result {
        Ok(rows) => {
            tracing::info!(target: "gridsync_relay::admin", via = "http", action = "export", scope, table, format, rows, "admin action")
        }
        Err(e) => {
            tracing::warn!(target: "gridsync_relay::admin", via = "http", action = "export", scope, table, format, error = %e, "admin action failed")
        }
    }
    result
}

/// A writer that sends what is written in chunks of [`CHUNK`] bytes, waiting while the
/// channel is full; fails once the client has gone or the relay is shutting down (so a
/// long download does not hold up the shutdown).
struct Chunks {
    buf: Vec<u8>,
    tx: mpsc::Sender<Bytes>,
    ops: Arc<Ops>,
}

impl Chunks {
    fn send(&mut self) -> io::Result<()> {
        if self.ops.is_draining() {
            return Err(io::Error::other("the relay is shutting down"));
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Bytes::from(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for Chunks {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            self.send()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_download_is_parsed_from_the_path_and_the_query() {
        let d = Download::parse("visits", Some("scope=ankang%2Fhanbin&format=jsonl")).unwrap();
        assert_eq!(
            (d.scope.as_str(), d.table, d.format),
            ("ankang/hanbin", Table::Visits, ExportFormat::Jsonl)
        );
        let chinese = "scope=%E5%AE%89%E5%BA%B7/%E6%B1%89%E6%BB%A8";
        let d = Download::parse("case_timeline", Some(chinese)).unwrap();
        assert_eq!(d.scope.as_str(), "安康/汉滨");
        assert_eq!(d.format, ExportFormat::Csv, "CSV unless asked");
        let [_, (_, disposition), _] = d.headers();
        assert_eq!(disposition, "attachment; filename=\"case_timeline.csv\"");
    }

    #[test]
    fn a_bad_download_says_what_is_wrong() {
        let bad = |table: &str, query: &str| Download::parse(table, Some(query)).unwrap_err();
        assert!(matches!(
            bad("people", "scope=a"),
            BadDownload::Export(ExportError::UnknownTable(_))
        ));
        assert!(matches!(
            bad("visits", "scope=a&format=xlsx"),
            BadDownload::Export(ExportError::UnknownFormat(_))
        ));
        assert!(matches!(
            bad("tier_changes", "scope=a&format=jsonl"),
            BadDownload::Export(ExportError::NotInFormat { .. })
        ));
        assert!(matches!(
            bad("visits", "scope=a/../b"),
            BadDownload::Scope(_)
        ));
        assert!(matches!(bad("visits", "format=csv"), BadDownload::NoScope));
        assert!(matches!(
            bad("visits", "scope=a&x=1"),
            BadDownload::Unknown(_)
        ));
        assert!(matches!(
            bad("visits", "scope=a&scope=b"),
            BadDownload::Repeated(_)
        ));
    }

    #[tokio::test]
    async fn a_failure_part_way_ends_the_body_with_an_error() {
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let task = tokio::task::spawn_blocking(move || {
            tx.blocking_send(Bytes::from_static(b"second")).unwrap();
            Err(ExportError::Write {
                file: "visits.csv".into(),
                source: io::Error::other("disk on fire"),
            })
        });
        let items: Vec<io::Result<Bytes>> =
            body(Bytes::from_static(b"first"), rx, task).collect().await;
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].as_ref().unwrap().as_ref(), b"first");
        assert_eq!(items[1].as_ref().unwrap().as_ref(), b"second");
        assert!(items[2].is_err(), "the failure did not reach the body");
    }

    #[tokio::test]
    async fn a_finished_export_ends_the_body_cleanly() {
        let (tx, rx) = mpsc::channel::<Bytes>(IN_FLIGHT);
        let task = tokio::task::spawn_blocking(move || {
            drop(tx);
            Ok(1)
        });
        let items: Vec<io::Result<Bytes>> =
            body(Bytes::from_static(b"all"), rx, task).collect().await;
        assert_eq!(items.len(), 1);
        assert!(items[0].is_ok());
    }
}
