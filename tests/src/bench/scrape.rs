//! The relay's operations listener during a benchmark: off, on and idle (the relay's
//! default), or scraped at an interval as Prometheus would, to measure what watching the
//! relay costs (issue 18: ingest with `/metrics` scraped every second within 5% of off).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::ops_client::OpsClient;

/// What the benchmark's relay does with its operations listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OpsLoad {
    /// `--http off`.
    Off,
    /// On (the relay's default), never asked.
    #[default]
    On,
    /// On, `/metrics` scraped every second for the whole run.
    Scraped,
}

impl OpsLoad {
    /// The listener address to start the relay with.
    pub fn http(self) -> Option<SocketAddr> {
        match self {
            OpsLoad::Off => None,
            OpsLoad::On | OpsLoad::Scraped => Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        }
    }
}

/// A scraper running on its own thread until dropped.
pub struct Scraper {
    stop: Arc<AtomicBool>,
    scrapes: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Scraper {
    /// Scrapes `addr`'s `/metrics` every `every`.
    pub fn start(addr: SocketAddr, every: Duration) -> Self {
        let (stop, scrapes) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let thread = {
            let (stop, scrapes) = (stop.clone(), scrapes.clone());
            std::thread::spawn(move || {
                let ops = OpsClient::new(addr);
                while !stop.load(Ordering::Acquire) {
                    if ops.metrics().is_ok() {
                        scrapes.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(every);
                }
            })
        };
        Scraper {
            stop,
            scrapes,
            thread: Some(thread),
        }
    }

    /// Successful scrapes so far.
    pub fn scrapes(&self) -> u64 {
        self.scrapes.load(Ordering::Relaxed)
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
