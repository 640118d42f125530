//! `gridsync-relay serve`: the running relay. The operations listener starts first (so
//! `/healthz` answers and `/readyz` says "not open yet" while the store is held by a
//! relay that is still stopping), then the store opens, then QUIC is served until SIGTERM
//! or Ctrl-C, when `/readyz` turns unready and connections drain.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use gridsync_server::config::LogFormat;
use gridsync_server::http::{self, Ops};
use gridsync_server::login_limit::LoginLimit;
use gridsync_server::{Hub, Limits, RelayConfig, RelayError, admin, tls};
use tokio::sync::watch;

/// How often a relay waiting for its store (held by another process) tries again.
const STORE_RETRY: Duration = Duration::from_secs(1);

fn init_logging(config: &RelayConfig) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log).context("--log filter")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: a log file or a journal gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match config.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
    Ok(())
}

/// Runs the relay until a shutdown signal.
pub fn serve(config: RelayConfig, json: bool) -> Result<()> {
    init_logging(&config)?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve_async(config, json))
}

async fn serve_async(config: RelayConfig, json: bool) -> Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let ops = Ops::new(
        config.data_dir.clone(),
        Duration::from_secs(config.stuck_after_hours * 3600),
    );
    let (http_addr, http_task) = match config.http.0 {
        Some(addr) => {
            let listener = http::bind(addr).await?;
            let bound = listener.local_addr()?;
            let task = tokio::spawn(http::run(listener, ops.clone(), stopped(stop_rx.clone())));
            (Some(bound), Some(task))
        }
        None => (None, None),
    };
    let Some(hub) = open_store(&config, stop_rx.clone()).await? else {
        return Ok(()); // told to stop while waiting for the store
    };
    let (identity, made) = match (&config.tls_cert, &config.tls_key) {
        (Some(c), Some(k)) => (tls::from_pem(c, k)?, false),
        (None, None) => tls::self_signed(&config.data_dir)?,
        _ => bail!("tls_cert and tls_key go together"),
    };
    gridsync_server::perms::restrict(&config.data_dir)?;
    let fingerprint = identity.fingerprint();
    let server_config = tls::server_config(identity, config.idle_timeout_secs)?;
    let endpoint = gridsync_server::bind(config.listen, server_config)?;
    let addr = endpoint.local_addr()?;
    let hub = Arc::new(hub);
    let documents = hub.document_count()?;
    if json {
        let http = http_addr.map(|a| a.to_string());
        println!(
            "{}",
            serde_json::json!({ "listening": addr.to_string(), "fingerprint": fingerprint, "data_dir": config.data_dir, "documents": documents, "http": http })
        );
    } else {
        println!("gridsync-relay listening on {addr} (UDP/QUIC)");
        println!(
            "certificate fingerprint {fingerprint}{}",
            if made {
                " (new self-signed certificate)"
            } else {
                ""
            }
        );
        println!(
            "data in {} ({documents} documents)",
            config.data_dir.display()
        );
        match http_addr {
            Some(a) => println!("operations on http://{a} (/metrics, /healthz, /readyz, /api/)"),
            None => println!("operations listener off"),
        }
    }
    ops.opened(hub.clone());
    let stuck_after = Duration::from_secs(config.stuck_after_hours * 3600);
    let socket = admin::socket_path(&config.data_dir);
    let admin_task = tokio::spawn(admin::serve(
        socket,
        hub.clone(),
        stuck_after,
        stop_rx.clone(),
    ));
    let limits = Limits {
        max_connections: config.max_connections,
        drain: Duration::from_secs(10),
        failed_logins: LoginLimit {
            per_minute: config.failed_logins_per_minute,
            burst: config.failed_logins_per_minute.max(1),
            ..LoginLimit::default()
        },
        ..Limits::default()
    };
    let draining = {
        let (ops, stop) = (ops.clone(), stop_rx.clone());
        async move {
            stopped(stop).await;
            ops.draining();
        }
    };
    gridsync_server::run(endpoint, hub, limits, draining).await?;
    let _ = admin_task.await;
    if let Some(task) = http_task {
        let _ = task.await;
    }
    Ok(())
}

/// Opens the store, waiting (and saying so) while another process holds it: a relay
/// restarted before the old one has let go. `None` when told to stop meanwhile.
async fn open_store(config: &RelayConfig, mut stop: watch::Receiver<bool>) -> Result<Option<Hub>> {
    let mut said = false;
    loop {
        let (c, cache) = (config.clone(), config.cache_mib);
        let opened =
            tokio::task::spawn_blocking(move || gridsync_server::open_configured_hub(&c, cache))
                .await?;
        match opened {
            Ok(hub) => return Ok(Some(hub)),
            Err(RelayError::Core(gridsync_core::Error::StoreInUse { .. })) => {
                if !said {
                    tracing::warn!(data_dir = %config.data_dir.display(), "the store is in use by another process; waiting for it (readyz: not ready)");
                    said = true;
                }
            }
            Err(e) => {
                return Err(e).with_context(|| match &config.store {
                    // The error names the database (without its password).
                    Some(_) => "opening the relay's PostgreSQL store".to_string(),
                    None => format!("opening the store in {}", config.data_dir.display()),
                });
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(STORE_RETRY) => {}
            _ = stop.changed() => return Ok(None),
        }
    }
}

/// Resolves once `stop` says true (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
