//! A remote wipe on the handset's side of a connection (ADR 0008): the relay's `Wipe`
//! erases the store, `Wiped` answers, and the relay's goodbye ends the session.

use tracing::warn;

use super::{ClientSession, Phase};
use crate::error::{Error, Result};
use crate::sync::Lane;
use crate::sync::backend::HandsetBackend;
use crate::sync::wire::{ClientMsg, RelayMsg};

impl ClientSession {
    /// The relay said to erase: the store is erased (nothing more is pushed), `Wiped`
    /// answers, and the session waits for the relay's goodbye.
    pub(super) fn wipe(&mut self, device: &str, backend: &mut dyn HandsetBackend) -> Result<()> {
        warn!(%device, "the relay's operator wiped this handset: erasing the store");
        if let Err(e) = backend.erase() {
            self.fail(&e);
            return Err(e);
        }
        self.out.clear();
        self.caught_up = false;
        self.phase = Phase::Wiped;
        self.queue(ClientMsg::Wiped, Lane::Control);
        Ok(())
    }

    /// A message after the store was wiped: the relay's goodbye ends the session with
    /// [`Error::Wiped`]; anything else is ignored.
    pub(super) fn after_wipe(&mut self, msg: RelayMsg) -> Result<()> {
        if let RelayMsg::Error { .. } = msg {
            let e = Error::Wiped;
            self.fail(&e);
            return Err(e);
        }
        Ok(())
    }
}
