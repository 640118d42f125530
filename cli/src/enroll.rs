//! What to tell the worker when the relay refuses this handset's enrollment.

use gridsync_core::{Denial, Error};

/// The step that fixes a refused enrollment: a new token, then `init` with it.
const ENROLL_AGAIN: &str = "ask the operator for a new token (`gridsync-relay --data-dir DIR device add --name NAME --scope GRID`) and enroll again with `gridsync init --force --relay HOST:PORT --token NEW_TOKEN --fingerprint F`";

/// Replaces a [`Error::Denied`] (anywhere in the chain) with one sentence that says what
/// happened once and names the commands that fix it; any other error is returned as is.
pub fn explain(e: anyhow::Error) -> anyhow::Error {
    let denial = e.chain().find_map(|c| match c.downcast_ref::<Error>() {
        Some(Error::Denied { denial, .. }) => Some(*denial),
        _ => None,
    });
    match denial {
        Some(Denial::UnknownToken) => anyhow::anyhow!(
            "access denied: the relay does not know this handset's enrollment token; {ENROLL_AGAIN}"
        ),
        Some(Denial::Revoked) => {
            anyhow::anyhow!("access denied: the operator revoked this handset; {ENROLL_AGAIN}")
        }
        None => e,
    }
}
