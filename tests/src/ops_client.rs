//! A client for the relay's operations listener: plain HTTP (`ureq`) against `/metrics`,
//! `/healthz`, `/readyz` and the admin API (export downloads too), and a parser for the
//! Prometheus text format good enough to read counters back by name and labels.

use std::collections::HashMap;
use std::net::SocketAddr;

use anyhow::{Context, Result};

/// One answer: status, headers and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Answer {
    /// The first header named `name` (lower case), if it is there and is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_str(&self.body).with_context(|| format!("not JSON: {:?}", self.body))
    }
}

/// The largest body read (an export download can be larger than ureq's 10 MB default).
const BODY_LIMIT: u64 = 256 << 20;

/// The operations listener of one relay.
#[derive(Debug, Clone)]
pub struct OpsClient {
    base: String,
    agent: ureq::Agent,
    /// The admin token sent as `Authorization: Bearer …`, if any.
    pub token: Option<String>,
}

impl OpsClient {
    /// A client for the listener at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(10)))
            .build()
            .into();
        OpsClient {
            base: format!("http://{addr}"),
            agent,
            token: None,
        }
    }

    /// The same listener, sending `token` as the admin token.
    pub fn with_token(&self, token: &str) -> Self {
        OpsClient {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    fn auth(&self) -> Option<String> {
        self.token.as_ref().map(|t| format!("Bearer {t}"))
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Answer> {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(a) = self.auth() {
            req = req.header("Authorization", a);
        }
        answer(req.call())
    }

    /// `POST path` with a JSON body (or none).
    pub fn post(&self, path: &str, body: Option<serde_json::Value>) -> Result<Answer> {
        let mut req = self.agent.post(format!("{}{path}", self.base));
        if let Some(a) = self.auth() {
            req = req.header("Authorization", a);
        }
        answer(match body {
            Some(b) => req.send_json(b),
            None => req.send_empty(),
        })
    }

    /// Scrapes `/metrics`.
    pub fn metrics(&self) -> Result<Metrics> {
        let a = self.get("/metrics")?;
        anyhow::ensure!(
            a.status == 200,
            "/metrics answered {}: {}",
            a.status,
            a.body
        );
        Ok(Metrics::parse(&a.body))
    }
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Answer> {
    let mut resp = r.context("HTTP request")?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_string()
        .context("reading the body")?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Samples of one scrape, by series (`name{labels}` as written).
#[derive(Debug, Clone, Default)]
pub struct Metrics(pub HashMap<String, f64>);

impl Metrics {
    /// Parses the text format (comments skipped).
    pub fn parse(text: &str) -> Self {
        Metrics(
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .filter_map(|l| {
                    let (series, value) = l.rsplit_once(' ')?;
                    Some((series.to_string(), value.parse().ok()?))
                })
                .collect(),
        )
    }

    /// A series' value; 0 when it is not there (a labelled counter not yet moved).
    pub fn get(&self, series: &str) -> f64 {
        self.0.get(series).copied().unwrap_or(0.0)
    }

    /// How much `series` grew from `before` to `self`.
    pub fn delta(&self, before: &Metrics, series: &str) -> f64 {
        self.get(series) - before.get(series)
    }
}
