//! Conversions of cases, their actions and filters, and of the sync client's reports.

use std::net::{SocketAddr, ToSocketAddrs};

use gridsync_core::index as ci;
use gridsync_core::model as cm;
use gridsync_core::net as cn;
use gridsync_core::replica as cr;
use gridsync_core::workflow as cw;

use super::{grid, id, opt_id};
use crate::cases::*;
use crate::error::{GridsyncError, Result};
use crate::sync::{PendingSummary, Refusal, RelayConfig, RelayTrust, SyncReport, SyncStatus};

impl TryFrom<ActionKind> for cw::ActionKind {
    type Error = GridsyncError;
    fn try_from(k: ActionKind) -> Result<Self> {
        Ok(match k {
            ActionKind::Report => cw::ActionKind::Report,
            ActionKind::Accept => cw::ActionKind::Accept,
            ActionKind::Triage {
                triage_class,
                level,
                deadline,
                assignee,
            } => cw::ActionKind::Triage {
                class: triage_class.into(),
                level: level.map(Into::into),
                deadline,
                assignee,
            },
            ActionKind::Assign { assignee } => cw::ActionKind::Assign { assignee },
            ActionKind::Start => cw::ActionKind::Start,
            ActionKind::Escalate {
                reason,
                beyond_level,
            } => cw::ActionKind::Escalate {
                reason,
                beyond_level,
            },
            ActionKind::Resolve { summary } => cw::ActionKind::Resolve { summary },
            ActionKind::Evaluate { satisfied, comment } => {
                cw::ActionKind::Evaluate { satisfied, comment }
            }
            ActionKind::Reject { reason } => cw::ActionKind::Reject { reason },
            ActionKind::Duplicate { of_case } => cw::ActionKind::Duplicate {
                of: id("of_case", &of_case)?,
            },
            ActionKind::Comment { text } => cw::ActionKind::Comment { text },
        })
    }
}

impl From<cw::ActionKind> for ActionKind {
    fn from(k: cw::ActionKind) -> Self {
        match k {
            cw::ActionKind::Report => ActionKind::Report,
            cw::ActionKind::Accept => ActionKind::Accept,
            cw::ActionKind::Triage {
                class,
                level,
                deadline,
                assignee,
            } => ActionKind::Triage {
                triage_class: class.into(),
                level: level.map(Into::into),
                deadline,
                assignee,
            },
            cw::ActionKind::Assign { assignee } => ActionKind::Assign { assignee },
            cw::ActionKind::Start => ActionKind::Start,
            cw::ActionKind::Escalate {
                reason,
                beyond_level,
            } => ActionKind::Escalate {
                reason,
                beyond_level,
            },
            cw::ActionKind::Resolve { summary } => ActionKind::Resolve { summary },
            cw::ActionKind::Evaluate { satisfied, comment } => {
                ActionKind::Evaluate { satisfied, comment }
            }
            cw::ActionKind::Reject { reason } => ActionKind::Reject { reason },
            cw::ActionKind::Duplicate { of } => ActionKind::Duplicate { of_case: of.into() },
            cw::ActionKind::Comment { text } => ActionKind::Comment { text },
        }
    }
}

/// The button an action name from `workflow::allowed` stands for (`None` for `report`,
/// which is never a step on an existing case).
pub(crate) fn action_name(name: &str) -> Option<ActionName> {
    Some(match name {
        "accept" => ActionName::Accept,
        "triage" => ActionName::Triage,
        "assign" => ActionName::Assign,
        "start" => ActionName::Start,
        "escalate" => ActionName::Escalate,
        "resolve" => ActionName::Resolve,
        "evaluate" => ActionName::Evaluate,
        "reject" => ActionName::Reject,
        "duplicate" => ActionName::Duplicate,
        "comment" => ActionName::Comment,
        _ => return None,
    })
}

impl TryFrom<CaseActionInput> for cr::CaseActionInput {
    type Error = GridsyncError;
    fn try_from(a: CaseActionInput) -> Result<Self> {
        Ok(cr::CaseActionInput {
            actor: String::new(),
            role: a.role.into(),
            at: a.at,
            kind: a.kind.try_into()?,
        })
    }
}

impl TryFrom<NewCase> for cm::NewCase {
    type Error = GridsyncError;
    fn try_from(c: NewCase) -> Result<Self> {
        Ok(cm::NewCase {
            grid: grid("grid", &c.grid)?,
            reporter: String::new(),
            role: c.role.into(),
            household: opt_id("household", c.household)?,
            title: c.title,
            description: c.description,
            category: c.category,
            at: c.at,
        })
    }
}

impl From<cm::Case> for Case {
    fn from(c: cm::Case) -> Self {
        let needs_review = c.needs_review();
        let s = c.state;
        Case {
            id: c.id.into(),
            grid: c.grid.into(),
            reporter: c.reporter,
            household: c.household.map(Into::into),
            title: c.title,
            description: c.description,
            category: c.category,
            reported_at: c.reported_at,
            status: s.status.into(),
            triage_class: s.class.map(Into::into),
            level: s.level.map(Into::into),
            assignee: s.assignee,
            deadline: s.deadline,
            escalations: s.escalations,
            reopened: s.reopened,
            needs_review,
            timeline: (c.timeline.into_iter())
                .map(|e| TimelineEntry {
                    id: e.action.id,
                    actor: e.action.actor,
                    role: e.action.role.into(),
                    at: e.action.at,
                    kind: e.action.kind.into(),
                    problem: e.problem,
                })
                .collect(),
        }
    }
}

impl From<ci::CaseSummary> for CaseSummary {
    fn from(s: ci::CaseSummary) -> Self {
        CaseSummary {
            id: s.id.into(),
            grid: s.grid.into(),
            title: s.title,
            category: s.category,
            status: s.status.into(),
            triage_class: s.class.map(Into::into),
            level: s.level.map(Into::into),
            assignee: s.assignee,
            deadline: s.deadline,
            reported_at: s.reported_at,
            household: s.household.map(Into::into),
            needs_review: s.needs_review,
        }
    }
}

impl TryFrom<CaseFilter> for cr::CaseFilter {
    type Error = GridsyncError;
    fn try_from(f: CaseFilter) -> Result<Self> {
        Ok(cr::CaseFilter {
            status: f.status.map(Into::into),
            open_only: f.open_only,
            class: f.triage_class.map(Into::into),
            overdue_at: f.overdue_at,
            grid: f.grid.map(|g| grid("grid", &g)).transpose()?,
        })
    }
}

impl From<cn::SyncStatus> for SyncStatus {
    fn from(s: cn::SyncStatus) -> Self {
        SyncStatus {
            state: s.state.into(),
            pending_changes: s.pending_changes,
            pending_bytes: s.pending_bytes,
            refused_changes: s.refused_changes,
            last_sync: s.last_sync,
            last_error: s.last_error,
        }
    }
}

impl From<cn::SyncReport> for SyncReport {
    fn from(r: cn::SyncReport) -> Self {
        SyncReport {
            zero_rtt: r.zero_rtt,
            pushed: r.pushed,
            acknowledged: r.acknowledged,
            refused: (r.refused.into_iter())
                .map(|x| Refusal {
                    record: x.doc.into(),
                    change: hex::encode(x.hash),
                    reason: x.reason,
                })
                .collect(),
            resent_after_restore: r.resent_after_restore,
            documents_changed: r.documents_changed,
            entries: r.entries,
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            round_trips: r.round_trips,
            caught_up: r.caught_up,
            elapsed_ms: u64::try_from(r.elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl From<cr::PendingSummary> for PendingSummary {
    fn from(p: cr::PendingSummary) -> Self {
        PendingSummary {
            changes: p.changes,
            bytes: p.bytes,
            refused: p.refused,
        }
    }
}

/// Resolves `host:port` (a literal address needs no DNS).
fn socket_addr(address: &str) -> Result<SocketAddr> {
    if let Ok(a) = address.parse() {
        return Ok(a);
    }
    let invalid = |reason: String| GridsyncError::InvalidInput {
        field: "address".into(),
        reason,
    };
    if !address.contains(':') {
        return Err(invalid(format!("{address:?} has no port (host:port)")));
    }
    let mut found = address
        .to_socket_addrs()
        .map_err(|e| GridsyncError::Network {
            reason: format!("cannot resolve the relay address {address:?}: {e}"),
        })?;
    found
        .next()
        .ok_or_else(|| invalid(format!("{address:?} resolves to no address")))
}

impl TryFrom<RelayConfig> for cn::RelayTarget {
    type Error = GridsyncError;
    fn try_from(r: RelayConfig) -> Result<Self> {
        let invalid = |field: &str, reason: &str| GridsyncError::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        };
        if r.token.trim().is_empty() {
            return Err(invalid("token", "the enrollment token is empty"));
        }
        if r.server_name.trim().is_empty() {
            return Err(invalid("server_name", "the TLS server name is empty"));
        }
        // Several nodes of one relay: `host1:4433, host2:4433` (docs/SCALING.md).
        let mut addrs = r
            .address
            .split(',')
            .map(|a| socket_addr(a.trim()))
            .collect::<Result<Vec<_>>>()?
            .into_iter();
        let addr = addrs
            .next()
            .ok_or_else(|| invalid("address", "no relay address"))?;
        Ok(cn::RelayTarget {
            addr,
            other_nodes: addrs.collect(),
            server_name: r.server_name,
            trust: match r.trust {
                RelayTrust::Pinned { fingerprint } => cn::Trust::Pinned(fingerprint),
                RelayTrust::CaPem { pem } => cn::Trust::CaPem(pem.into_bytes()),
            },
            token: r.token.trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_core_allows_has_a_button() {
        let state = cw::CaseState {
            status: cw::CaseStatus::Triaged,
            class: None,
            level: Some(cm::Level::Grid),
            assignee: None,
            deadline: None,
            escalations: 0,
            reopened: 0,
        };
        for status in cw::CaseStatus::ALL {
            for role in [
                cm::Role::GridLeader,
                cm::Role::StreetStaff,
                cm::Role::Supervisor,
            ] {
                let s = cw::CaseState {
                    status,
                    ..state.clone()
                };
                for name in cw::allowed(&s, role) {
                    assert!(action_name(name).is_some(), "no ActionName for {name}");
                }
            }
        }
    }

    #[test]
    fn a_bad_relay_address_names_the_field() {
        let cfg = RelayConfig {
            address: "relay.example".into(),
            server_name: "gridsync-relay".into(),
            trust: RelayTrust::Pinned {
                fingerprint: "sha256:00".into(),
            },
            token: "t".into(),
        };
        let e = cn::RelayTarget::try_from(cfg).unwrap_err();
        assert!(matches!(e, GridsyncError::InvalidInput { ref field, .. } if field == "address"));
    }
}
