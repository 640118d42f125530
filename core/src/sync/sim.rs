//! Test-only: a simulated link with a virtual clock between handsets and one relay, the
//! in-memory backends it drives ([`backends`]), message strategies for proptest
//! ([`strategies`]), the end-to-end protocol scenarios (`scenarios`) and hostile-peer
//! tests (`adversarial`).
//!
//! Every message is encoded with [`frame`](super::frame) and decoded on arrival. Control
//! messages arrive in order after the latency; bulk messages take a little longer, with
//! jitter, so they may overtake each other and be overtaken by control messages. A cut
//! drops every connection and everything in flight; reconnecting starts new sessions
//! from the backends' persisted state.

#![allow(clippy::unwrap_used)]

mod adversarial;
mod backends;
mod scenarios;
mod sim_relay;
pub(crate) mod strategies;

use std::collections::HashMap;

pub(crate) use backends::{SimHandset, grid, new_doc};
pub(crate) use sim_relay::SimRelay;

use super::client::{ClientConfig, ClientEvent, ClientSession};
use super::frame::{ClientMsgDecoder, FrameDecoder, RelayMsgDecoder, encode_client, encode_relay};
use super::relay::RelaySession;
use super::wire::RelayMsg;
use super::{Lane, client_msg_kind, relay_msg_kind};
use crate::ids::{DocId, GridPath, Timestamp};

/// One message in flight on the simulated link.
#[derive(Debug)]
struct Flight {
    at: Timestamp,
    order: u64,
    conn: usize,
    to_relay: bool,
    lane: Lane,
    bytes: Vec<u8>,
}

/// One delivered message, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivery {
    pub at: Timestamp,
    pub conn: usize,
    pub to_relay: bool,
    pub kind: &'static str,
    pub live: bool,
    pub lane: Lane,
}

/// A connection: the two sessions and the control-stream decoders.
struct Conn {
    client: ClientSession,
    relay: RelaySession,
    to_relay: ClientMsgDecoder,
    to_client: RelayMsgDecoder,
}

/// Handsets and one relay joined by a simulated link with a virtual clock.
pub(crate) struct Sim {
    pub now: Timestamp,
    /// One-way latency in ms.
    pub latency: Timestamp,
    pub relay: SimRelay,
    pub handsets: Vec<SimHandset>,
    configs: Vec<ClientConfig>,
    conns: Vec<Option<Conn>>,
    flights: Vec<Flight>,
    next_order: u64,
    control_at: HashMap<(usize, bool), Timestamp>,
    cut_at: Option<Timestamp>,
    rng: u64,
    pub delivered: Vec<Delivery>,
    /// Every client event, with the handset and the time.
    pub events: Vec<(Timestamp, usize, ClientEvent)>,
    pub wire_bytes: u64,
}

impl Sim {
    pub fn new(latency: Timestamp) -> Self {
        Sim {
            now: 0,
            latency,
            relay: SimRelay::default(),
            handsets: Vec::new(),
            configs: Vec::new(),
            conns: Vec::new(),
            flights: Vec::new(),
            next_order: 0,
            control_at: HashMap::new(),
            cut_at: None,
            rng: 0x9e37_79b9_7f4a_7c15,
            delivered: Vec::new(),
            events: Vec::new(),
            wire_bytes: 0,
        }
    }

    /// Adds a handset that will connect with `config`.
    pub fn add_handset(&mut self, config: ClientConfig) -> usize {
        self.handsets.push(SimHandset::new());
        self.configs.push(config);
        self.conns.push(None);
        self.handsets.len() - 1
    }

    /// Opens a new connection for handset `i` from its persisted state.
    pub fn connect(&mut self, i: usize) {
        let mut client = ClientSession::new(self.configs[i].clone());
        client.start(&self.handsets[i], self.now).unwrap();
        let relay = RelaySession::new(self.now);
        let conn = Conn {
            client,
            relay,
            to_relay: FrameDecoder::new(),
            to_client: FrameDecoder::new(),
        };
        self.conns[i] = Some(conn);
        self.flush();
    }

    /// Drops every connection at virtual time `at` (messages in flight are lost).
    pub fn cut_at(&mut self, at: Timestamp) {
        self.cut_at = Some(at);
    }

    pub fn client(&self, i: usize) -> Option<&ClientSession> {
        self.conns[i].as_ref().map(|c| &c.client)
    }

    pub fn relay_session(&self, i: usize) -> Option<&RelaySession> {
        self.conns[i].as_ref().map(|c| &c.relay)
    }

    /// The app on handset `i` writes; a connected session pushes it.
    pub fn write(&mut self, i: usize, doc: &DocId, grid: &GridPath, key: &str, value: &str) {
        self.handsets[i].write(doc, grid, key, value);
        if let Some(conn) = self.conns[i].as_mut() {
            conn.client.local_changes(&self.handsets[i]).unwrap();
        }
        self.flush();
    }

    /// The relay's log gains an edit from elsewhere; connected sessions hear of it.
    pub fn relay_write(&mut self, doc: &DocId, grid: &GridPath, key: &str, value: &str) {
        self.relay.write(doc, grid, key, value);
        self.log_advanced();
    }

    fn log_advanced(&mut self) {
        for conn in self.conns.iter_mut().flatten() {
            conn.relay.log_advanced(&self.relay);
        }
        self.flush();
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn schedule(&mut self, conn: usize, to_relay: bool, lane: Lane, bytes: Vec<u8>) {
        self.wire_bytes += bytes.len() as u64;
        let mut at = self.now + self.latency;
        if lane == Lane::Bulk {
            // Bulk streams are a little slower, so a control message sent at the same
            // moment overtakes them.
            at += 1 + (self.random() % (self.latency as u64 / 2 + 1)) as Timestamp;
        } else {
            let last = self.control_at.entry((conn, to_relay)).or_default();
            at = at.max(*last);
            *last = at;
        }
        self.next_order += 1;
        let order = self.next_order;
        self.flights.push(Flight {
            at,
            order,
            conn,
            to_relay,
            lane,
            bytes,
        });
    }

    /// Moves every queued message onto the link and collects client events.
    fn flush(&mut self) {
        for i in 0..self.conns.len() {
            let mut out = Vec::new();
            if let Some(conn) = self.conns[i].as_mut() {
                while let Some(t) = conn.client.poll_transmit() {
                    out.push((true, t.lane, encode_client(&t.msg).unwrap()));
                }
                while let Some(t) = conn.relay.poll_transmit() {
                    out.push((false, t.lane, encode_relay(&t.msg).unwrap()));
                }
                while let Some(e) = conn.client.poll_event() {
                    self.events.push((self.now, i, e));
                }
            }
            for (to_relay, lane, bytes) in out {
                self.schedule(i, to_relay, lane, bytes);
            }
        }
    }

    /// Delivers the next message; false when nothing is in flight.
    pub fn step(&mut self) -> bool {
        self.flush();
        let next = self
            .flights
            .iter()
            .enumerate()
            .min_by_key(|(_, f)| (f.at, f.order));
        let next = next.map(|(i, f)| (i, f.at));
        if let Some(cut) = self
            .cut_at
            .filter(|cut| next.is_none_or(|(_, at)| *cut <= at))
        {
            self.now = self.now.max(cut);
            self.cut_at = None;
            self.flights.clear();
            self.control_at.clear();
            self.conns.iter_mut().for_each(|c| *c = None);
            return true;
        }
        let Some((next, _)) = next else { return false };
        let flight = self.flights.swap_remove(next);
        self.now = flight.at;
        self.deliver(flight);
        self.flush();
        true
    }

    /// Runs until nothing is in flight.
    pub fn run(&mut self) {
        for _ in 0..100_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the simulation did not settle");
    }

    /// Runs until the next delivery would be after `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Timestamp) {
        while self.flights.iter().any(|f| f.at <= t) && self.step() {}
        self.now = self.now.max(t);
    }

    fn deliver(&mut self, flight: Flight) {
        let i = flight.conn;
        let Some(conn) = self.conns[i].as_mut() else {
            return;
        };
        let cut = (flight.bytes.len() as u64 / 2) as usize;
        if flight.to_relay {
            let mut bulk = ClientMsgDecoder::new();
            let decoder = if flight.lane == Lane::Bulk {
                &mut bulk
            } else {
                &mut conn.to_relay
            };
            let mut msgs = Vec::new();
            let decoded = decoder
                .push(&flight.bytes[..cut])
                .and_then(|()| decoder.push(&flight.bytes[cut..]));
            let decoded = decoded.and_then(|()| {
                while let Some(m) = decoder.pop()? {
                    msgs.push(m);
                }
                Ok(())
            });
            if let Err(e) = decoded {
                conn.relay.malformed(&e.to_string());
            }
            let head = self.relay.log_len();
            for msg in msgs {
                let kind = client_msg_kind(&msg);
                let lane = flight.lane;
                self.delivered.push(Delivery {
                    at: self.now,
                    conn: i,
                    to_relay: true,
                    kind,
                    live: false,
                    lane,
                });
                conn.relay.handle(msg, self.now, &self.relay);
            }
            if self.relay.log_len() != head {
                self.log_advanced();
            }
        } else {
            let mut bulk = RelayMsgDecoder::new();
            let decoder = if flight.lane == Lane::Bulk {
                &mut bulk
            } else {
                &mut conn.to_client
            };
            decoder.push(&flight.bytes).unwrap();
            while let Some(msg) = decoder.pop().unwrap() {
                let kind = relay_msg_kind(&msg);
                let live = matches!(msg, RelayMsg::Batch { live: true, .. });
                let lane = flight.lane;
                self.delivered.push(Delivery {
                    at: self.now,
                    conn: i,
                    to_relay: false,
                    kind,
                    live,
                    lane,
                });
                let _ = conn.client.handle(msg, self.now, &mut self.handsets[i]);
            }
        }
    }

    /// Time of the first event of handset `i` matching `f` at or after `since`.
    pub fn event_time(
        &self,
        i: usize,
        since: Timestamp,
        f: impl Fn(&ClientEvent) -> bool,
    ) -> Option<Timestamp> {
        self.events
            .iter()
            .find(|(t, h, e)| *t >= since && *h == i && f(e))
            .map(|(t, _, _)| *t)
    }
}
