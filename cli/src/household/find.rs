//! Naming a household on the command line: its id, a unique id prefix, or its head's name.
//!
//! Core keeps no index by name, so a name is looked up by listing the households on this
//! handset (its scope) and comparing heads here: fine for a grid's few hundred households.

use anyhow::{Result, bail};
use gridsync_core::index::HouseholdSummary;
use gridsync_core::{DocId, DocKind, Replica};

use crate::output;

/// How many matching households an ambiguous name lists.
const LISTED: usize = 8;

/// Finds a household by id, unique id prefix (`h-3f2a`), or head of household (`王秀英`):
/// the exact name first, else the households whose head's name contains it. Ids and
/// prefixes find retired households too; names find only listed ones.
pub fn resolve(r: &Replica, text: &str) -> Result<DocId> {
    let t = text.trim();
    if t.starts_with("h-") || t.is_empty() {
        return output::resolve_id(t, DocKind::Household, "household", || {
            let listed = r.list_households(None)?.into_iter();
            Ok(listed
                .chain(r.retired_households(None)?)
                .map(|h| h.id)
                .collect())
        });
    }
    let all = r.list_households(None)?;
    let exact: Vec<&HouseholdSummary> = all.iter().filter(|h| h.head.trim() == t).collect();
    let found = if exact.is_empty() {
        all.iter().filter(|h| h.head.contains(t)).collect()
    } else {
        exact
    };
    match found.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => bail!(
            "{t:?} is not a household id (h- and hex digits), and no household on this handset has a head named so; `gridsync household list` shows them all"
        ),
        more => {
            let listed: Vec<String> = more
                .iter()
                .take(LISTED)
                .map(|h| {
                    format!(
                        "{} {} {} ({})",
                        output::short(&h.id),
                        h.head,
                        output::address(&h.address),
                        h.grid
                    )
                })
                .collect();
            let rest = more.len().saturating_sub(LISTED);
            bail!(
                "{} households match {t:?}: {}{}; pick one by its id",
                more.len(),
                listed.join("; "),
                if rest > 0 {
                    format!("; and {rest} more")
                } else {
                    String::new()
                }
            )
        }
    }
}
