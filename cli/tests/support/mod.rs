//! What the CLI test files share: running the `gridsync` binary on a handset directory,
//! and a real relay on 127.0.0.1 inside the test process (as in cli.rs).

// Each test file uses only some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use gridsync_core::GridPath;
use gridsync_server::{Limits, tls};
use serde_json::Value;
use time::{Duration, OffsetDateTime, UtcOffset};

/// The grid the handsets work in.
pub const G1: &str = "ankang/hanbin/laocheng/xinhua/g01";

/// The `gridsync` binary, with no store or log level from the environment.
pub fn command(store: Option<&Path>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridsync"));
    cmd.env_remove("GRIDSYNC_STORE")
        .env_remove("GRIDSYNC_LOG")
        .env_remove("GRIDSYNC_STORE_KEY");
    if let Some(s) = store {
        cmd.arg("--store").arg(s);
    }
    cmd
}

/// Runs `gridsync` to its end.
pub fn gridsync(store: Option<&Path>, args: &[&str]) -> Output {
    command(store)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run gridsync")
}

/// Bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs a command that must succeed; returns its stdout.
pub fn ok(store: &Path, args: &[&str]) -> String {
    let out = gridsync(Some(store), args);
    assert!(
        out.status.success(),
        "gridsync {args:?} failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs a command with `--json` that must succeed; returns the parsed output.
pub fn json(store: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = ok(store, &all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} printed non-JSON {out:?}: {e}"))
}

/// Sets up a handset in `dir` with no relay, as `worker` in grid [`G1`].
pub fn offline_handset(dir: &Path, worker: &str) {
    ok(
        dir,
        &["init", "--offline", "--worker", worker, "--grid", G1],
    );
}

/// Runs `household add` on `store` with `args` (`--head`, `--tier`, `--address` ...);
/// returns the new household's id.
pub fn add_household(store: &Path, args: &[&str]) -> String {
    let mut all = vec!["household", "add"];
    all.extend_from_slice(args);
    let h = json(store, &all);
    h["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {h}"))
        .to_string()
}

/// `YYYY-MM-DD` (UTC), `days` days from now.
pub fn date_in(days: i64) -> String {
    (OffsetDateTime::now_utc() + Duration::days(days))
        .date()
        .to_string()
}

/// `YYYY-MM-DD HH:MM` in Beijing time, `days` days before now.
pub fn beijing_days_ago(days: i64) -> String {
    let t = OffsetDateTime::now_utc().to_offset(UtcOffset::from_hms(8, 0, 0).unwrap())
        - Duration::days(days);
    format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute())
}

/// Runs a command that must fail; returns its stderr.
pub fn fails(store: &Path, args: &[&str]) -> String {
    let out = gridsync(Some(store), args);
    assert!(!out.status.success(), "gridsync {args:?} succeeded");
    text(&out.stderr)
}

/// A relay on 127.0.0.1 inside the test process, as `gridsync-relay serve` runs it.
pub struct Relay {
    rt: tokio::runtime::Runtime,
    /// Its UDP address.
    pub addr: String,
    /// Its certificate's fingerprint.
    pub fingerprint: String,
    /// Its hub, to enroll devices and look at what arrived.
    pub hub: Arc<gridsync_server::Hub>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Relay {
    /// Starts a relay keeping its data in `dir`.
    pub fn start(dir: &Path) -> Relay {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let hub = Arc::new(gridsync_server::open_hub(dir, 16).unwrap());
        let (identity, _) = tls::self_signed(dir).unwrap();
        let fingerprint = identity.fingerprint();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let addr = rt.block_on(async {
            let endpoint = gridsync_server::bind(
                "127.0.0.1:0".parse().unwrap(),
                tls::server_config(identity, 30).unwrap(),
            )
            .unwrap();
            let addr = endpoint.local_addr().unwrap();
            tokio::spawn(gridsync_server::run(
                endpoint,
                hub.clone(),
                Limits::default(),
                async {
                    let _ = stopped.await;
                },
            ));
            addr
        });
        Relay {
            rt,
            addr: addr.to_string(),
            fingerprint,
            hub,
            stop: Some(stop),
        }
    }

    /// Enrolls `name` for `scope` and sets up a handset for it in `dir`.
    pub fn handset(&self, dir: &Path, name: &str, scope: &str, role: &str) {
        let token = self.token(name, scope);
        self.init_with_token(dir, name, &token, Some(role));
    }

    /// Sets up a handset in `dir` for worker `name` with `token` (known to the relay or
    /// not), in `role` (the CLI's default role when `None`), working in [`G1`].
    pub fn init_with_token(&self, dir: &Path, name: &str, token: &str, role: Option<&str>) {
        self.init_in_grid(dir, name, token, role, G1);
    }

    /// Sets up a handset as [`Relay::init_with_token`] does, working in `grid` (which the
    /// enrollment behind `token` need not cover: the relay's grants replace the setup
    /// identity at the first sync).
    pub fn init_in_grid(
        &self,
        dir: &Path,
        name: &str,
        token: &str,
        role: Option<&str>,
        grid: &str,
    ) {
        let mut args = vec![
            "init",
            "--relay",
            &self.addr,
            "--token",
            token,
            "--fingerprint",
            &self.fingerprint,
            "--worker",
            name,
        ];
        if let Some(role) = role {
            args.extend(["--role", role]);
        }
        args.extend(["--grid", grid]);
        ok(dir, &args);
    }

    /// Enrolls `name` for `scope` as worker `name` holding every role; returns its token.
    pub fn token(&self, name: &str, scope: &str) -> String {
        use gridsync_core::model::{Grants, Role};
        let grants = Grants {
            worker: name.to_string(),
            display_name: name.to_string(),
            roles: Role::ALL.to_vec(),
            scopes: vec![GridPath::parse(scope).unwrap()],
        };
        self.hub.add_device(name, &grants).unwrap().token
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.rt
            .block_on(async { tokio::time::sleep(std::time::Duration::from_millis(50)).await });
    }
}
