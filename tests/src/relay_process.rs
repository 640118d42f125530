//! The relay as a separate `gridsync-relay serve` process ([`RelayProcess`]): for
//! benchmarks that measure its CPU and memory and for tests that SIGKILL it and restart it
//! on its port and data. [`relay_binary`] builds the binary for tests.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use gridsync_core::net::RelayTarget;
use gridsync_server::Hub;

use crate::relay::target;

/// How a [`RelayProcess`] is started.
#[derive(Debug, Clone, Copy)]
pub struct ProcessOptions {
    /// Where it listens (`127.0.0.1:0`: any free port).
    pub listen: SocketAddr,
    /// `--idle-timeout` in seconds (`None`: the relay's default).
    pub idle_secs: Option<u64>,
    /// Its stderr goes to `<data_dir>.log` (appended over restarts) when true, to this
    /// process's stderr otherwise.
    pub log_to_file: bool,
    /// The `--log` filter (`warn` unless a test reads the log).
    pub log_filter: &'static str,
    /// The operations listener's address (`127.0.0.1:0`: any free port), `None` for off.
    pub http: Option<SocketAddr>,
    /// `--max-connections` (`None`: the relay's default).
    pub max_connections: Option<usize>,
    /// `--store`: a PostgreSQL URL (`None`: sled in the data directory). A `'static`
    /// string keeps the options `Copy`: leak the URL once per test ([`leak`]).
    pub store: Option<&'static str>,
}

/// A string that lives as long as the test process (for [`ProcessOptions::store`]).
pub fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

impl Default for ProcessOptions {
    /// Any free port on 127.0.0.1, the relay's idle timeout, stderr inherited.
    fn default() -> Self {
        ProcessOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            idle_secs: None,
            log_to_file: false,
            log_filter: "warn",
            http: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            max_connections: None,
            store: None,
        }
    }
}

impl ProcessOptions {
    /// What the fault tests use: an idle timeout of `idle_secs` and stderr in a log file.
    pub fn for_faults(idle_secs: u64) -> Self {
        ProcessOptions {
            idle_secs: Some(idle_secs),
            log_to_file: true,
            ..ProcessOptions::default()
        }
    }
}

/// A `gridsync-relay serve` child process.
pub struct RelayProcess {
    /// The binary.
    pub exe: PathBuf,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its certificate fingerprint.
    pub fingerprint: String,
    /// Where its operations listener listens, if on.
    pub http: Option<SocketAddr>,
    /// Where its stderr goes, when it goes to a file ([`ProcessOptions::log_to_file`]).
    pub log: Option<PathBuf>,
    /// How it was started.
    pub options: ProcessOptions,
    child: Option<Child>,
}

impl RelayProcess {
    /// Starts `exe serve` over `data_dir` as `options` say and waits until it listens.
    pub fn spawn(exe: &Path, data_dir: &Path, options: ProcessOptions) -> Result<Self> {
        let log = options.log_to_file.then(|| data_dir.with_extension("log"));
        let stderr = match &log {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
            None => Stdio::inherit(),
        };
        let mut cmd = Command::new(exe);
        if let Some(store) = options.store {
            cmd.args(["--store", store]);
        }
        cmd.arg("--data-dir")
            .arg(data_dir)
            .args(["--json", "serve", "--listen"])
            .arg(options.listen.to_string());
        if let Some(idle) = options.idle_secs {
            cmd.args(["--idle-timeout", &idle.to_string()]);
        }
        if let Some(max) = options.max_connections {
            cmd.args(["--max-connections", &max.to_string()]);
        }
        let http = options
            .http
            .map_or_else(|| "off".to_string(), |a| a.to_string());
        cmd.args(["--http", &http]);
        let mut child = cmd
            .args(["--log", options.log_filter])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let line = first_line(&mut child)?;
        let v: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let tail = log.as_deref().map(log_tail).unwrap_or_default();
                bail!("the relay did not start (said {line:?}); its log ends:\n{tail}");
            }
        };
        let addr = v["listening"]
            .as_str()
            .context("no listening address")?
            .parse()?;
        let fingerprint = v["fingerprint"]
            .as_str()
            .context("no fingerprint")?
            .to_string();
        let http = v["http"].as_str().map(str::parse).transpose()?;
        Ok(RelayProcess {
            http,
            exe: exe.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            addr,
            fingerprint,
            log,
            options,
            child: Some(child),
        })
    }

    /// Enrolls a device with `exe device add` over `data_dir`; returns the token. While a
    /// relay runs there the CLI goes through its admin socket; otherwise it opens the
    /// store itself (so handsets can be enrolled before the relay starts).
    pub fn enroll_with(exe: &Path, data_dir: &Path, name: &str, scopes: &[&str]) -> Result<String> {
        std::fs::create_dir_all(data_dir)?;
        let mut cmd = Command::new(exe);
        cmd.arg("--data-dir")
            .arg(data_dir)
            .args(["--json", "device", "add", "--name", name, "--worker", name]);
        for role in gridsync_core::model::Role::ALL {
            cmd.args(["--role", role.as_str()]);
        }
        for s in scopes {
            cmd.args(["--scope", s]);
        }
        let out = cmd.output()?;
        ensure!(
            out.status.success(),
            "device add failed: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).with_context(|| {
            format!("device add said {:?}", String::from_utf8_lossy(&out.stdout))
        })?;
        let token = v["token"]
            .as_str()
            .context("no token in the answer")?
            .to_string();
        crate::relay::remember_grants(&token, &crate::relay::all_roles(name, scopes)?);
        Ok(token)
    }

    /// Makes a new admin token for the HTTP admin API with `exe admin-token` over
    /// `data_dir` (the previous one stops working); returns it.
    pub fn admin_token_with(exe: &Path, data_dir: &Path) -> Result<String> {
        let out = Command::new(exe)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--json", "admin-token"])
            .output()?;
        ensure!(
            out.status.success(),
            "admin-token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Ok(v["admin_token"]
            .as_str()
            .context("no admin_token in the answer")?
            .to_string())
    }

    /// A new admin token for this relay's admin API.
    pub fn admin_token(&self) -> Result<String> {
        Self::admin_token_with(&self.exe, &self.data_dir)
    }

    /// Enrolls a device on this relay (running or not); returns the token.
    pub fn enroll(&self, name: &str, scopes: &[&str]) -> Result<String> {
        Self::enroll_with(&self.exe, &self.data_dir, name, scopes)
    }

    /// A handset's target for this relay.
    pub fn target(&self, token: &str) -> RelayTarget {
        target(self.addr, &self.fingerprint, token)
    }

    /// The process id, while there is a process.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// CPU seconds (user + system) the relay has used so far (0 without a process).
    pub fn cpu_seconds(&self) -> f64 {
        let Some(pid) = self.pid() else { return 0.0 };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat_cpu_seconds(&stat)
    }

    /// Peak resident memory of the relay, KiB (0 without a process).
    pub fn peak_rss_kib(&self) -> u64 {
        let Some(pid) = self.pid() else { return 0 };
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    }

    /// SIGKILL, and wait until it is gone.
    pub fn sigkill(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            c.kill()?;
            c.wait()?;
        }
        Ok(())
    }

    /// SIGTERM (graceful shutdown), waiting up to `within`; SIGKILL after that.
    pub fn terminate(&mut self, within: Duration) -> Result<()> {
        let Some(mut c) = self.child.take() else {
            return Ok(());
        };
        // A system call, not `kill(1)`: a bare Debian has no procps.
        let pid = i32::try_from(c.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let t = Instant::now();
        while t.elapsed() < within {
            if c.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        c.kill()?;
        c.wait()?;
        bail!("the relay did not stop within {within:?} of SIGTERM")
    }

    /// Starts it again on the same address, data and options (SIGKILLing it first if it
    /// still runs).
    pub fn restart(&mut self) -> Result<()> {
        self.sigkill()?;
        let options = ProcessOptions {
            listen: self.addr,
            ..self.options
        };
        let t = Instant::now();
        loop {
            match RelayProcess::spawn(&self.exe, &self.data_dir, options) {
                Ok(mut new) => {
                    ensure!(
                        new.fingerprint == self.fingerprint,
                        "the certificate changed"
                    );
                    self.child = new.child.take();
                    return Ok(());
                }
                Err(e) if t.elapsed() < Duration::from_secs(10) => {
                    tracing::debug!(error = %e, "relay restart: retrying");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e.context("restarting the relay")),
            }
        }
    }

    /// Opens the (stopped) relay's store in this process, for inspection. Drop the hub
    /// before starting the relay again.
    pub fn open_store(&self) -> Result<Hub> {
        ensure!(self.child.is_none(), "the relay is running");
        Ok(gridsync_server::open_hub(&self.data_dir, 8)?)
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.sigkill();
    }
}

/// Reads the relay's first line of stdout, then keeps draining the rest on a thread so
/// the relay never blocks on a full pipe.
fn first_line(child: &mut Child) -> Result<String> {
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout);
    let mut line = String::new();
    lines
        .read_line(&mut line)
        .context("reading the relay's first line")?;
    std::thread::spawn(move || {
        let mut sink = String::new();
        while lines.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    Ok(line)
}

/// The last 2,000 characters of a log file.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let skip = text.chars().count().saturating_sub(2000);
    text.chars().skip(skip).collect()
}

/// The directory cargo puts binaries of this profile in (`target/debug`), found from the
/// running test executable (`target/debug/deps/<test>`).
pub fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().context("test executable has no directory")?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().context("deps has no parent")?;
    }
    Ok(dir.to_path_buf())
}

/// Builds `gridsync-relay` (`cargo build -p gridsync-server --bin gridsync-relay`, once per
/// test process) and returns its path. If the build fails but a binary exists, that one
/// is used with a warning (another engineer's half-edited server should not fail every
/// fault test).
pub fn relay_binary() -> Result<PathBuf> {
    static BIN: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = target_dir().map_err(|e| e.to_string())?;
        let exe = dir.join("gridsync-relay");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let t = Instant::now();
        let out = Command::new(cargo)
            .args(["build", "-p", "gridsync-server", "--bin", "gridsync-relay"])
            .current_dir(&workspace)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match out {
            Ok(o) if o.status.success() => {
                eprintln!("built gridsync-relay in {:?}", t.elapsed());
            }
            Ok(o) => eprintln!(
                "warning: cargo build of gridsync-relay failed; using the existing binary:\n{}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("warning: cannot run cargo ({e}); using the existing binary"),
        }
        if exe.is_file() {
            Ok(exe)
        } else {
            Err(format!("no gridsync-relay binary at {}", exe.display()))
        }
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// User and system CPU seconds from the text of a `/proc/PID/stat` file (0 when unreadable).
pub fn stat_cpu_seconds(stat: &str) -> f64 {
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields after the command: state is [0], utime [11], stime [12]; 100 ticks a second.
    (ticks(11) + ticks(12)) / 100.0
}
