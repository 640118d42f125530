//! The handset session's pulls: each batch applied with its cursor in one write when it
//! continues from the persisted cursor, ignored (and pulled again) when it does not.
//!
//! Grids newly granted (a rescope) are pulled by a second, narrowed cursor, the backend's
//! [`Bootstrap`], once the main cursor has caught up. One pull is outstanding at a time, and
//! the relay sends live batches only to a full-scope cursor, so a batch that is not live
//! answers the outstanding pull; a live one always continues the main cursor. When the
//! bootstrap is done, a full-scope pull brings live batches back.

use tracing::{debug, info};

use super::{ClientEvent, ClientSession};
use crate::error::Result;
use crate::sync::Lane;
use crate::sync::backend::{Bootstrap, HandsetBackend};
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
        if !live && self.boot_pulling {
            return self.on_bootstrap_batch(from, next, entries, more, backend);
        }
        if !live && self.pulling.as_ref() == Some(&from) {
            self.pulling = None;
        }
        if from == self.cursor {
            let docs = backend.apply_batch(entries, &next)?;
            self.count(entries);
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
            self.note_applied(docs);
        } else {
            debug!(?from, cursor = ?self.cursor, live, "batch for another cursor ignored");
            self.repull = true;
        }
        if self.pulling.is_none() {
            if self.repull {
                self.send_pull();
            } else if self.synced {
                self.send_bootstrap_pull();
            }
        }
        Ok(())
    }

    /// A batch answering the bootstrap's pull: applied with the bootstrap's new position
    /// (or its end), then the next bootstrap pull, or a full-scope pull once it is done.
    fn on_bootstrap_batch(
        &mut self,
        from: Cursor,
        next: Cursor,
        entries: &[Entry],
        more: bool,
        backend: &mut dyn HandsetBackend,
    ) -> Result<()> {
        self.pulling = None;
        self.boot_pulling = false;
        let Some(boot) = self.boot.take() else {
            self.send_pull();
            return Ok(());
        };
        if from != boot.cursor {
            debug!(?from, cursor = ?boot.cursor, "bootstrap batch for another cursor ignored");
            self.boot = Some(boot);
            self.send_bootstrap_pull();
            return Ok(());
        }
        let next = Bootstrap {
            scopes: boot.scopes,
            cursor: next,
        };
        let docs = backend.apply_bootstrap_batch(entries, &next, !more)?;
        self.count(entries);
        debug!(
            entries = entries.len(),
            docs = docs.len(),
            more,
            "bootstrap batch applied"
        );
        self.note_applied(docs);
        if more {
            self.boot = Some(next);
            self.send_bootstrap_pull();
        } else {
            info!(grids = next.scopes.len(), "newly granted grids pulled");
            self.send_pull();
        }
        Ok(())
    }

    fn count(&mut self, entries: &[Entry]) {
        self.stats.entries += entries.len() as u64;
        self.stats.entry_bytes += crate::sync::entries_bytes(entries) as u64;
    }

    fn note_applied(&mut self, docs: Vec<crate::ids::DocId>) {
        if !docs.is_empty() {
            let cursor = self.cursor.clone();
            self.events.push_back(ClientEvent::Applied { docs, cursor });
        }
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

    /// Sends the bootstrap's next pull, if one is to run.
    fn send_bootstrap_pull(&mut self) {
        let Some(boot) = &self.boot else {
            return;
        };
        self.pulling = Some(boot.cursor.clone());
        self.boot_pulling = true;
        let msg = ClientMsg::Pull {
            cursor: boot.cursor.clone(),
            max_bytes: self.config.max_pull_bytes,
            scopes: boot.scopes.clone(),
        };
        self.queue(msg, Lane::Control);
    }
}
