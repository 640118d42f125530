//! `household retire`: a household registered twice leaves the lists as a duplicate of
//! the one kept; one that moved away or is gone leaves them with a reason. `--undo` lists
//! it again.

use anyhow::{Result, bail};
use gridsync_core::Replica;

use super::resolve;
use crate::Ctx;
use crate::output;

/// Runs `household retire ID [--duplicate-of KEPT] [--reason TEXT] [--undo]`.
pub(super) fn retire(
    ctx: &Ctx,
    r: &Replica,
    id: &str,
    duplicate_of: Option<&str>,
    reason: &str,
    undo: bool,
) -> Result<()> {
    let id = resolve(r, id)?;
    if undo {
        if duplicate_of.is_some() || !reason.trim().is_empty() {
            bail!("--undo takes no --duplicate-of or --reason: it only lists the household again");
        }
        r.reinstate_household(&id)?;
    } else {
        let kept = duplicate_of.map(|k| resolve(r, k)).transpose()?;
        r.retire_household(&id, kept.as_ref(), reason)?;
    }
    let h = r.household(&id)?;
    if ctx.json {
        return output::json(&h);
    }
    match &h.retired {
        Some(ret) => {
            let why = match &ret.duplicate_of {
                Some(k) => format!("a duplicate of {}", output::short(k)),
                None => ret.reason.clone(),
            };
            crate::outln!(
                "retired household {} ({}): {why}; its visits stay, `household retire {} --undo` lists it again",
                output::short(&id),
                h.head,
                output::short(&id)
            )?;
        }
        None => crate::outln!(
            "household {} ({}) is listed again",
            output::short(&id),
            h.head
        )?,
    }
    Ok(())
}
