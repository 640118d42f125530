//! Visit schedule: how often each tier must be visited, and who is due.

use serde::{Deserialize, Serialize};

use crate::ids::{DAY_MS, DocId, Timestamp};
use crate::index::{HouseholdSummary, OpenFollowUp};
use crate::model::Tier;

/// Visit intervals per tier, in days (for example red weekly, yellow monthly, green quarterly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierPolicy {
    /// 连心户.
    pub red_days: u32,
    /// 关心户.
    pub yellow_days: u32,
    /// 放心户.
    pub green_days: u32,
}

impl Default for TierPolicy {
    fn default() -> Self {
        TierPolicy {
            red_days: 7,
            yellow_days: 30,
            green_days: 90,
        }
    }
}

impl TierPolicy {
    /// The interval for a tier in milliseconds.
    pub fn interval(&self, tier: Tier) -> Timestamp {
        let days = match tier {
            Tier::Red => self.red_days,
            Tier::Yellow => self.yellow_days,
            Tier::Green => self.green_days,
        };
        Timestamp::from(days) * DAY_MS
    }
}

/// A household that is due (or overdue) for a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueVisit {
    /// The household.
    pub household: DocId,
    /// Head of household, for the list.
    pub head: String,
    /// Tier.
    pub tier: Tier,
    /// Last visit, if any.
    pub last_visit: Option<Timestamp>,
    /// When the next visit is due: the tier's interval after the last visit (the
    /// registration time when never visited), or the earliest open follow-up if sooner.
    pub due_at: Timestamp,
    /// Whole days past due (0 when due within the day).
    pub days_overdue: i64,
    /// The household's earliest open follow-up, when one is due within the horizon.
    pub follow_up: Option<OpenFollowUp>,
}

/// Due visits among `households` (each with its last visit and its earliest open
/// follow-up), most urgent first: earliest due date, then higher tier, then id. Only those
/// due before `now + horizon`.
pub fn due_visits(
    households: impl IntoIterator<Item = (HouseholdSummary, Option<Timestamp>, Option<OpenFollowUp>)>,
    policy: &TierPolicy,
    now: Timestamp,
    horizon: Timestamp,
) -> Vec<DueVisit> {
    let mut out: Vec<DueVisit> = households
        .into_iter()
        .filter_map(|(h, last, follow_up)| {
            let by_tier = match last {
                Some(t) => t + policy.interval(h.tier),
                None => h.registered_at,
            };
            let follow_up = follow_up.filter(|f| f.due <= now + horizon);
            let due_at = follow_up.as_ref().map_or(by_tier, |f| f.due.min(by_tier));
            (due_at <= now + horizon).then(|| DueVisit {
                household: h.id,
                head: h.head,
                tier: h.tier,
                last_visit: last,
                due_at,
                days_overdue: ((now - due_at) / DAY_MS).max(0),
                follow_up,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.due_at, std::cmp::Reverse(a.tier), &a.household).cmp(&(
            b.due_at,
            std::cmp::Reverse(b.tier),
            &b.household,
        ))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{DocKind, GridPath};
    use crate::model::Address;

    fn hh(tier: Tier, registered_at: Timestamp) -> HouseholdSummary {
        HouseholdSummary {
            id: DocId::new(DocKind::Household),
            grid: GridPath::parse("a/b").unwrap(),
            head: format!("{tier:?}"),
            tier,
            address: Address::Rural {
                group: "一组".into(),
                courtyard: "院".into(),
                number: "1".into(),
            },
            tags: vec![],
            contacts: vec![],
            registered_at,
            retired: false,
        }
    }

    #[test]
    fn most_overdue_first_and_not_yet_due_left_out() {
        let p = TierPolicy::default();
        let now = 100 * DAY_MS;
        let red = hh(Tier::Red, 0); // last visit 90 days ago + 7 → due day 17
        let yellow = hh(Tier::Yellow, 0); // last visit day 60 + 30 → due day 90
        let green = hh(Tier::Green, 0); // last visit day 50 + 90 → due day 140: not due
        let never = hh(Tier::Green, 95 * DAY_MS); // never visited: due since registration
        let due = due_visits(
            [
                (green.clone(), Some(50 * DAY_MS), None),
                (yellow.clone(), Some(60 * DAY_MS), None),
                (red.clone(), Some(10 * DAY_MS), None),
                (never.clone(), None, None),
            ],
            &p,
            now,
            0,
        );
        let order: Vec<_> = due.iter().map(|d| d.household.clone()).collect();
        assert_eq!(order, [red.id, yellow.id, never.id]);
        assert_eq!(due[0].days_overdue, 83);
        // With a 60-day horizon the green household shows up last.
        assert_eq!(
            due_visits(
                [(green.clone(), Some(50 * DAY_MS), None)],
                &p,
                now,
                60 * DAY_MS
            )
            .len(),
            1
        );
    }

    #[test]
    fn ties_go_to_the_higher_tier() {
        let p = TierPolicy {
            red_days: 10,
            yellow_days: 10,
            green_days: 10,
        };
        let due = due_visits(
            [
                (hh(Tier::Green, 0), Some(0), None),
                (hh(Tier::Red, 0), Some(0), None),
            ],
            &p,
            20 * DAY_MS,
            0,
        );
        assert_eq!(due[0].tier, Tier::Red);
    }

    #[test]
    fn an_open_follow_up_brings_the_visit_forward() {
        let p = TierPolicy::default();
        let now = 100 * DAY_MS;
        let green = hh(Tier::Green, 0); // visited day 95: by its tier due day 185
        let follow_up = |due| OpenFollowUp {
            household: green.id.clone(),
            visit: DocId::new(DocKind::Visit),
            index: 0,
            text: "送药上门".into(),
            due,
        };
        let due = due_visits(
            [(
                green.clone(),
                Some(95 * DAY_MS),
                Some(follow_up(98 * DAY_MS)),
            )],
            &p,
            now,
            0,
        );
        assert_eq!(due.len(), 1, "an overdue follow-up makes the household due");
        assert_eq!((due[0].due_at, due[0].days_overdue), (98 * DAY_MS, 2));
        assert_eq!(
            due[0].follow_up.as_ref().map(|f| f.text.as_str()),
            Some("送药上门")
        );
        // A follow-up beyond the horizon neither shows nor moves the date.
        let later = due_visits(
            [(
                green.clone(),
                Some(95 * DAY_MS),
                Some(follow_up(120 * DAY_MS)),
            )],
            &p,
            now,
            7 * DAY_MS,
        );
        assert!(later.is_empty());
    }
}
