//! Every conversion between the core's types and the records that cross the boundary, in
//! one place. Outputs convert with `From` (they cannot fail); inputs with `TryFrom`, since
//! ids and grid paths arrive as strings and are parsed here, the error naming the field.

use gridsync_core::index as ci;
use gridsync_core::model as cm;
use gridsync_core::net as cn;
use gridsync_core::schedule as cs;
use gridsync_core::workflow as cw;
use gridsync_core::{DocId, GridPath};

use crate::cases::{CaseStatus, Level, Role, TriageClass};
use crate::error::{GridsyncError, Result};
use crate::records::*;
use crate::sync::LinkState;

/// Parses a record id that arrived as `field`.
pub(crate) fn id(field: &str, s: &str) -> Result<DocId> {
    DocId::parse(s).map_err(|_| GridsyncError::InvalidInput {
        field: field.into(),
        reason: format!("{s:?} is not a gridsync record id (like h-…, v-… or c-…)"),
    })
}

/// Parses a grid path that arrived as `field`.
pub(crate) fn grid(field: &str, s: &str) -> Result<GridPath> {
    GridPath::parse(s).map_err(|e| match GridsyncError::from(e) {
        GridsyncError::InvalidInput { reason, .. } => GridsyncError::InvalidInput {
            field: field.into(),
            reason,
        },
        other => other,
    })
}

pub(crate) fn opt_id(field: &str, s: Option<String>) -> Result<Option<DocId>> {
    s.map(|s| id(field, &s)).transpose()
}

/// Maps a C-like enum both ways.
macro_rules! both_ways {
    ($ffi:ident, $core:path, [$($v:ident),+ $(,)?]) => {
        impl From<$core> for $ffi {
            fn from(x: $core) -> Self {
                use $core as C;
                match x { $(C::$v => $ffi::$v),+ }
            }
        }
        impl From<$ffi> for $core {
            fn from(x: $ffi) -> Self {
                use $core as C;
                match x { $($ffi::$v => C::$v),+ }
            }
        }
    };
}

both_ways!(Tier, cm::Tier, [Green, Yellow, Red]);
both_ways!(
    VisitMode,
    cm::VisitMode,
    [DoorToDoor, Phone, CourtyardMeeting]
);
both_ways!(
    HouseholdField,
    cm::HouseholdField,
    [Head, Phone, Address, Members, Tier]
);
both_ways!(TriageClass, cm::TriageClass, [Big, Small, Private]);
both_ways!(Level, cm::Level, [Grid, Community, Street]);
both_ways!(
    Role,
    cm::Role,
    [
        GridWorker,
        GridLeader,
        CommunityStaff,
        StreetStaff,
        Supervisor
    ]
);
both_ways!(
    CaseStatus,
    cw::CaseStatus,
    [
        Reported, Accepted, Triaged, InProgress, Resolved, Closed, Rejected, Duplicate
    ]
);
both_ways!(
    LinkState,
    cn::LinkState,
    [Offline, Connecting, Syncing, Live]
);

impl From<cm::Address> for Address {
    fn from(a: cm::Address) -> Self {
        match a {
            cm::Address::Urban {
                building,
                unit,
                room,
            } => Address::Urban {
                building,
                unit,
                room,
            },
            cm::Address::Rural {
                group,
                courtyard,
                number,
            } => Address::Rural {
                group,
                courtyard,
                number,
            },
        }
    }
}

impl From<Address> for cm::Address {
    fn from(a: Address) -> Self {
        match a {
            Address::Urban {
                building,
                unit,
                room,
            } => cm::Address::Urban {
                building,
                unit,
                room,
            },
            Address::Rural {
                group,
                courtyard,
                number,
            } => cm::Address::Rural {
                group,
                courtyard,
                number,
            },
        }
    }
}

impl From<cm::Member> for Member {
    fn from(m: cm::Member) -> Self {
        Member {
            name: m.name,
            birth_year: m.birth_year,
            relation: m.relation,
        }
    }
}

impl From<Member> for cm::Member {
    fn from(m: Member) -> Self {
        cm::Member {
            name: m.name,
            birth_year: m.birth_year,
            relation: m.relation,
        }
    }
}

fn members_in(v: Vec<Member>) -> Vec<cm::Member> {
    v.into_iter().map(Into::into).collect()
}

fn members_out(v: Vec<cm::Member>) -> Vec<Member> {
    v.into_iter().map(Into::into).collect()
}

impl TryFrom<NewHousehold> for cm::NewHousehold {
    type Error = GridsyncError;
    fn try_from(h: NewHousehold) -> Result<Self> {
        Ok(cm::NewHousehold {
            grid: grid("grid", &h.grid)?,
            address: h.address.into(),
            head: h.head,
            members: members_in(h.members),
            phone: h.phone,
            tier: h.tier.into(),
            tags: h.tags,
            contacts: h.contacts,
        })
    }
}

impl From<HouseholdUpdate> for cm::HouseholdUpdate {
    fn from(u: HouseholdUpdate) -> Self {
        cm::HouseholdUpdate {
            head: u.head,
            phone: u.phone,
            address: u.address.map(Into::into),
            members: u.members.map(members_in),
            add_tags: u.add_tags,
            remove_tags: u.remove_tags,
            add_contacts: u.add_contacts,
            remove_contacts: u.remove_contacts,
        }
    }
}

impl From<cm::Household> for Household {
    fn from(h: cm::Household) -> Self {
        Household {
            id: h.id.into(),
            grid: h.grid.into(),
            address: h.address.into(),
            head: h.head,
            members: members_out(h.members),
            phone: h.phone,
            tier: h.tier.into(),
            tier_history: h
                .tier_history
                .into_iter()
                .map(|t| TierChange {
                    tier: t.tier.into(),
                    by: t.by,
                    at: t.at,
                    reason: t.reason,
                })
                .collect(),
            tags: h.tags,
            contacts: h.contacts,
            retired: h.retired.map(|r| Retirement {
                by: r.by,
                at: r.at,
                duplicate_of: r.duplicate_of.map(Into::into),
                reason: r.reason,
            }),
        }
    }
}

impl From<cm::FieldConflict> for FieldConflict {
    fn from(c: cm::FieldConflict) -> Self {
        let values = c.values.into_iter().map(|v| match v {
            cm::FieldValue::Text(value) => FieldValue::Text { value },
            cm::FieldValue::Address(a) => FieldValue::Place { value: a.into() },
            cm::FieldValue::Members(m) => FieldValue::People {
                value: members_out(m),
            },
            cm::FieldValue::Tier(t) => FieldValue::Colour { value: t.into() },
        });
        FieldConflict {
            field: c.field.into(),
            values: values.collect(),
        }
    }
}

impl From<ci::HouseholdSummary> for HouseholdSummary {
    fn from(s: ci::HouseholdSummary) -> Self {
        HouseholdSummary {
            id: s.id.into(),
            grid: s.grid.into(),
            head: s.head,
            tier: s.tier.into(),
            address: s.address.into(),
            tags: s.tags,
            contacts: s.contacts,
            registered_at: s.registered_at,
        }
    }
}

fn follow_up(f: cm::FollowUp) -> FollowUp {
    FollowUp {
        text: f.text,
        due: f.due,
        done: f.done,
    }
}

fn geo(g: cm::GeoPoint) -> GeoPoint {
    GeoPoint {
        lat: g.lat,
        lon: g.lon,
    }
}

impl TryFrom<NewVisit> for cm::NewVisit {
    type Error = GridsyncError;
    fn try_from(v: NewVisit) -> Result<Self> {
        Ok(cm::NewVisit {
            household: id("household", &v.household)?,
            worker: String::new(),
            at: v.at,
            mode: v.mode.into(),
            notes: v.notes,
            findings: v.findings,
            follow_ups: (v.follow_ups.into_iter())
                .map(|f| cm::FollowUp {
                    text: f.text,
                    due: f.due,
                    done: f.done,
                })
                .collect(),
            geo: v.geo.map(|g| cm::GeoPoint {
                lat: g.lat,
                lon: g.lon,
            }),
        })
    }
}

impl From<cm::Visit> for Visit {
    fn from(v: cm::Visit) -> Self {
        let r = v.record;
        Visit {
            id: v.id.into(),
            grid: v.grid.into(),
            household: r.household.into(),
            worker: r.worker,
            at: r.at,
            mode: r.mode.into(),
            notes: r.notes,
            findings: r.findings,
            follow_ups: r.follow_ups.into_iter().map(follow_up).collect(),
            geo: r.geo.map(geo),
        }
    }
}

impl From<ci::VisitSummary> for VisitSummary {
    fn from(s: ci::VisitSummary) -> Self {
        VisitSummary {
            id: s.id.into(),
            household: s.household.into(),
            worker: s.worker,
            at: s.at,
            mode: s.mode.into(),
            open_follow_ups: s.open_follow_ups,
        }
    }
}

impl From<cs::DueVisit> for DueVisit {
    fn from(d: cs::DueVisit) -> Self {
        DueVisit {
            household: d.household.into(),
            head: d.head,
            tier: d.tier.into(),
            last_visit: d.last_visit,
            due_at: d.due_at,
            days_overdue: d.days_overdue,
            follow_up: d.follow_up.map(|f| OpenFollowUp {
                visit: f.visit.into(),
                index: f.index,
                text: f.text,
                due: f.due,
            }),
        }
    }
}

mod cases;
mod refused;
pub(crate) use cases::action_name;
