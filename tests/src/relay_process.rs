//! The relay as a separate `gridsync-relay` process, for benchmarks that measure its CPU
//! and memory and for tests that kill it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};
use gridsync_core::net::{RelayTarget, Trust};

/// A running `gridsync-relay serve`.
pub struct RelayProcess {
    /// The binary.
    pub exe: PathBuf,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its certificate fingerprint.
    pub fingerprint: String,
    child: Child,
}

impl RelayProcess {
    /// Starts `exe serve` on `listen` with data in `data_dir` and waits until it listens.
    pub fn start(exe: &Path, data_dir: &Path, listen: &str) -> Result<Self> {
        let mut child = Command::new(exe)
            .args(["--json", "--data-dir"])
            .arg(data_dir)
            .args(["serve", "--listen", listen, "--log", "warn"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let stdout = child.stdout.take().context("relay stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("reading the relay's first line")?;
        let v: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("relay said {line:?}"))?;
        let addr = v["listening"].as_str().context("listening")?.parse()?;
        let fingerprint = v["fingerprint"]
            .as_str()
            .context("fingerprint")?
            .to_string();
        Ok(RelayProcess {
            exe: exe.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            addr,
            fingerprint,
            child,
        })
    }

    /// Enrolls a device through the running relay's admin socket; returns the token.
    pub fn enroll(&self, name: &str, scopes: &[&str]) -> Result<String> {
        let mut cmd = Command::new(&self.exe);
        cmd.args(["--json", "--data-dir"])
            .arg(&self.data_dir)
            .args(["device", "add", "--name", name]);
        for s in scopes {
            cmd.args(["--scope", s]);
        }
        let out = cmd.output()?;
        anyhow::ensure!(
            out.status.success(),
            "device add failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Ok(v["token"].as_str().context("token")?.to_string())
    }

    /// A handset's target for this relay.
    pub fn target(&self, token: &str) -> RelayTarget {
        RelayTarget {
            addr: self.addr,
            server_name: "gridsync-relay".into(),
            trust: Trust::Pinned(self.fingerprint.clone()),
            token: token.into(),
        }
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU seconds (user + system) the relay has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
        // Fields after the command: state is [0], utime [11], stime [12]; 100 ticks a second.
        (ticks(11) + ticks(12)) / 100.0
    }

    /// Peak resident memory of the relay, KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    }

    /// SIGKILL, no goodbye.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a graceful exit.
    pub fn stop(mut self) -> Result<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        Ok(self.child.wait()?)
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
