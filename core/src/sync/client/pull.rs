//! The handset session's pulls: each batch applied with its cursor in one write when it
//! continues from the persisted cursor, ignored (and pulled again) when it does not.

use tracing::debug;

use super::{ClientEvent, ClientSession};
use crate::error::Result;
use crate::sync::Lane;
use crate::sync::backend::HandsetBackend;
use crate::sync::wire::{ClientMsg, Cursor, Entry};

impl ClientSession {
    pub(super) fn on_batch(
        &mut self,
        from: Cursor,
        next: Cursor,
        entries: &[Entry],
        more: bool,
        live: bool,
        backend: &mut dyn HandsetBackend,
    ) -> Result<()> {
        if !live && self.pulling.as_ref() == Some(&from) {
            self.pulling = None;
        }
        if from == self.cursor {
            let docs = backend.apply_batch(entries, &next)?;
            self.stats.entries += entries.len() as u64;
            self.stats.entry_bytes += crate::sync::entries_bytes(entries) as u64;
            debug!(
                live,
                entries = entries.len(),
                docs = docs.len(),
                more,
                "batch applied"
            );
            self.cursor = next;
            self.synced = !more;
            self.repull |= more;
            if !docs.is_empty() {
                let cursor = self.cursor.clone();
                self.events.push_back(ClientEvent::Applied { docs, cursor });
            }
        } else {
            debug!(?from, cursor = ?self.cursor, live, "batch for another cursor ignored");
            self.repull = true;
        }
        if self.pulling.is_none() && self.repull {
            self.send_pull();
        }
        Ok(())
    }

    pub(super) fn send_pull(&mut self) {
        self.repull = false;
        self.pulling = Some(self.cursor.clone());
        let msg = ClientMsg::Pull {
            cursor: self.cursor.clone(),
            max_bytes: self.config.max_pull_bytes,
            scopes: Vec::new(),
        };
        self.queue(msg, Lane::Control);
    }
}
