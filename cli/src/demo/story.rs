//! The demo's script, scene by scene: offline work on every handset, a first sync, a
//! concurrent edit of one household, the conflict surfaced and settled, and a write outside
//! a handset's grant. Each scene checks what it claims.

use anyhow::Result;
use gridsync_core::model::{
    Address, FieldConflict, FieldValue, HouseholdField, HouseholdUpdate, Member, NewCase,
    NewHousehold, NewVisit, Tier, TriageClass, VisitMode,
};
use gridsync_core::replica::CaseActionInput;
use gridsync_core::workflow::ActionKind;
use gridsync_core::{DAY_MS, DocId};

use super::{Demo, GRID_A, GRID_B, Phone, g};
use crate::output;

/// Ids the later scenes and the final checks need.
pub(super) struct Cast {
    /// 刘秀英's household in g01, edited on two handsets at once.
    pub h1: DocId,
    /// g02's households, which must never reach the g01 handset.
    pub g02_households: Vec<DocId>,
    /// The g01 case that goes round the loop.
    pub case: DocId,
}

/// Head, tier, building/unit/room, tags.
type House = (
    &'static str,
    Tier,
    [&'static str; 3],
    &'static [&'static str],
);

const G01_HOUSES: [House; 3] = [
    (
        "刘秀英",
        Tier::Red,
        ["3栋", "2单元", "501"],
        &["留守老人", "留守儿童"],
    ),
    ("陈建国", Tier::Yellow, ["5栋", "1单元", "302"], &["低保"]),
    ("赵丽", Tier::Green, ["1栋", "3单元", "1201"], &[]),
];

const G02_HOUSES: [House; 2] = [
    ("孙桂兰", Tier::Red, ["8栋", "1单元", "102"], &["残疾人"]),
    ("周海", Tier::Green, ["9栋", "2单元", "601"], &[]),
];

const PHONE_STAFF: &str = "13800002222";
const PHONE_WORKER: &str = "13900003333";

/// Registers households in `grid` on `p`, with `p`'s worker as their contact.
fn register(p: &Phone, grid: &str, houses: &[House]) -> Result<Vec<DocId>> {
    let mut ids = Vec::new();
    for (head, tier, [building, unit, room], tags) in houses {
        let new = NewHousehold {
            grid: g(grid),
            address: Address::Urban {
                building: building.to_string(),
                unit: unit.to_string(),
                room: room.to_string(),
            },
            head: head.to_string(),
            members: vec![Member {
                name: head.to_string(),
                birth_year: 1950,
                relation: "户主".into(),
            }],
            phone: String::new(),
            tier: *tier,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            contacts: vec![p.worker.into()],
        };
        ids.push(p.r().register_household(&new, p.worker)?);
    }
    Ok(ids)
}

/// Logs a visit `days_ago` days ago.
fn log(p: &Phone, h: &DocId, days_ago: i64, mode: VisitMode, notes: &str) -> Result<()> {
    p.r().log_visit(&NewVisit {
        household: h.clone(),
        worker: p.worker.into(),
        at: output::now() - days_ago * DAY_MS,
        mode,
        notes: notes.into(),
        findings: vec![],
        follow_ups: vec![],
        geo: None,
    })?;
    Ok(())
}

/// Reports a case about household `h` in `grid`.
fn report(p: &Phone, grid: &str, h: &DocId, title: &str, category: &str) -> Result<DocId> {
    Ok(p.r().report_case(&NewCase {
        grid: g(grid),
        reporter: p.worker.into(),
        role: p.role,
        household: Some(h.clone()),
        title: title.into(),
        description: String::new(),
        category: category.into(),
        at: output::now(),
    })?)
}

fn set_phone(p: &Phone, h: &DocId, phone: &str) -> Result<()> {
    let update = HouseholdUpdate {
        phone: Some(phone.into()),
        ..HouseholdUpdate::default()
    };
    Ok(p.r().update_household(h, &update)?)
}

fn conflict_text(c: &[FieldConflict]) -> Vec<String> {
    c.iter()
        .flat_map(|f| {
            f.values
                .iter()
                .map(|v| format!("{}={}", f.field.key(), crate::household::value_text(v)))
        })
        .collect()
}

impl Demo {
    /// Scene 1: no signal; both grid workers register, visit and report.
    pub(super) fn offline_work(&mut self, a: &Phone, b: &Phone) -> Result<Cast> {
        self.section("1. no signal: each handset works offline");
        let ha = register(a, GRID_A, &G01_HOUSES)?;
        log(
            a,
            &ha[0],
            3,
            VisitMode::DoorToDoor,
            "老人腿脚不便，孙子放学后无人看管；楼道堆放杂物影响出行。",
        )?;
        log(
            a,
            &ha[1],
            10,
            VisitMode::Phone,
            "电话回访：低保材料已交，等待审核。",
        )?;
        log(
            a,
            &ha[2],
            40,
            VisitMode::CourtyardMeeting,
            "院落会上反映小区停车难。",
        )?;
        let case = report(a, GRID_A, &ha[0], "3栋2单元楼道堆放杂物", "环境卫生")?;
        self.say(format!(
            "  {}: 3 households, 3 visits, 1 case (环境卫生) in g01",
            a.name
        ));
        self.households(a)?;
        let before = (a.r().case(&case)?.timeline.len(), a.r().pending()?.changes);
        let input = CaseActionInput {
            actor: a.worker.into(),
            role: a.role,
            at: None,
            kind: ActionKind::Accept,
        };
        let refused = a.r().act_on_case(&case, &input);
        self.say(format!(
            "  {} tries to accept her own case: {}",
            a.name,
            refused
                .as_ref()
                .map_or_else(|e| e.to_string(), |_| "accepted?!".into())
        ));
        let after = (a.r().case(&case)?.timeline.len(), a.r().pending()?.changes);
        self.check(
            "a step the role may not take is refused and writes nothing",
            refused.is_err() && before == after,
            format!(
                "timeline {} → {}, pending {} → {}",
                before.0, after.0, before.1, after.1
            ),
        );
        let hb = register(b, GRID_B, &G02_HOUSES)?;
        log(
            b,
            &hb[0],
            2,
            VisitMode::DoorToDoor,
            "轮椅损坏，需申请辅具更换。",
        )?;
        report(b, GRID_B, &hb[1], "9栋电梯频繁故障", "设施维修")?;
        self.say(format!(
            "  {}: 2 households, 1 visit, 1 case (设施维修) in g02",
            b.name
        ));
        Ok(Cast {
            h1: ha[0].clone(),
            g02_households: hb,
            case,
        })
    }

    /// Scenes 2-4: a first sync, then the staff member and a grid worker both work on the
    /// same records offline, sync, and the worker handles the case.
    pub(super) async fn meet(
        &mut self,
        a: &Phone,
        b: &Phone,
        s: &Phone,
        cast: &Cast,
    ) -> Result<()> {
        self.section("2. signal returns: everyone syncs");
        for p in [a, b, s] {
            self.sync(p).await?;
        }
        self.say(format!("  {} now sees the whole community:", s.name));
        self.households(s)?;

        self.section("3. offline again: two handsets edit the same household");
        self.act(s, &cast.case, ActionKind::Accept)?;
        let triage = ActionKind::Triage {
            class: TriageClass::Small,
            level: None,
            deadline: None,
            assignee: Some(a.worker.into()),
        };
        self.act(s, &cast.case, triage)?;
        set_phone(s, &cast.h1, PHONE_STAFF)?;
        set_phone(a, &cast.h1, PHONE_WORKER)?;
        log(a, &cast.h1, 0, VisitMode::Phone, "电话确认老人新号码。")?;
        self.say(format!(
            "  {} sets 刘秀英's phone to {PHONE_STAFF}; at the same time {} sets it to {PHONE_WORKER}",
            s.name, a.name
        ));

        self.section("4. sync: the edits meet, the case comes back to the grid");
        for p in [s, a, s] {
            self.sync(p).await?;
        }
        self.act(a, &cast.case, ActionKind::Start)?;
        let resolve = ActionKind::Resolve {
            summary: "已联系物业清理楼道杂物。".into(),
        };
        self.act(a, &cast.case, resolve)?;
        for p in [a, s] {
            self.sync(p).await?;
        }
        Ok(())
    }

    /// Scene 5: the conflicting phone numbers show on both handsets; staff settle them.
    pub(super) async fn conflict(&mut self, a: &Phone, s: &Phone, cast: &Cast) -> Result<()> {
        self.section("5. the conflict is surfaced, not dropped");
        let ca = a.r().household_conflicts(&cast.h1)?;
        let cs = s.r().household_conflicts(&cast.h1)?;
        self.say(format!("  on {}: {:?}", a.name, conflict_text(&ca)));
        self.say(format!("  on {}: {:?}", s.name, conflict_text(&cs)));
        self.check(
            "the concurrent phone edit is surfaced on both handsets, with both values",
            ca == cs
                && ca.len() == 1
                && ca[0].field == HouseholdField::Phone
                && ca[0].values.len() == 2,
            conflict_text(&ca).join(", "),
        );
        let wanted = FieldValue::Text(PHONE_WORKER.into());
        let choice = cs
            .first()
            .and_then(|c| c.values.iter().position(|v| *v == wanted))
            .unwrap_or(0);
        s.r()
            .resolve_conflict(&cast.h1, HouseholdField::Phone, choice)?;
        self.say(format!(
            "  {} calls the household, confirms {PHONE_WORKER} and settles it",
            s.name
        ));
        for p in [s, a] {
            self.sync(p).await?;
        }
        let settled = [a, s].iter().all(|p| {
            p.r()
                .household_conflicts(&cast.h1)
                .is_ok_and(|c| c.is_empty())
                && p.r()
                    .household(&cast.h1)
                    .is_ok_and(|h| h.phone == PHONE_WORKER)
        });
        self.check(
            "the settled value reached both handsets",
            settled,
            format!("phone {PHONE_WORKER}"),
        );
        Ok(())
    }

    /// Scene 6: the g02 worker tries to write into g01; the handset refuses at the call
    /// (the relay would too: the same check runs there) and nothing is written.
    pub(super) async fn trespass(&mut self, _a: &Phone, b: &Phone, _s: &Phone) -> Result<()> {
        self.section("6. a write outside the handset's grant");
        let before = b.r().count_households(None)?;
        let stray = register(
            b,
            GRID_A,
            &[("钱多多", Tier::Green, ["2栋", "1单元", "101"], &[])],
        );
        self.say(format!(
            "  {} (scope g02) tries to register a household in g01",
            b.name
        ));
        let after = b.r().count_households(None)?;
        let reason = match &stray {
            Err(e) => e.to_string(),
            Ok(_) => "accepted".into(),
        };
        self.check(
            "the handset refuses it at the call, naming its grids, and writes nothing",
            stray.is_err() && reason.contains("outside") && before == after,
            reason,
        );
        Ok(())
    }
}
