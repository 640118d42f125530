//! Visits: who is visited how often (by tier), when (working hours), how, what was found
//! and what must be followed up.

use gridsync_core::model::{Address, FollowUp, GeoPoint, NewHousehold, Tier, VisitMode};
use gridsync_core::{DAY_MS, Timestamp};
use rand::Rng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;

use super::households::jitter;
use super::pools::{self, pick};
use super::{PlannedVisit, WorkloadConfig, notes};

/// Relative visit frequency by tier: red households are in constant contact.
pub fn visit_weight(tier: Tier) -> u32 {
    match tier {
        Tier::Red => 12,
        Tier::Yellow => 4,
        Tier::Green => 1,
    }
}

/// Share of visits that find something to follow up.
pub const FINDING_RATE: f64 = 0.3;

/// Problems a visit may find (with [`notes::Situation`] markers: `S` on site, `E` elderly,
/// `L` low income, `D` disabled, `K` left-behind children, `R`/`U` rural/urban) and what to
/// do about them.
const FINDINGS: &[(&str, &str)] = &[
    (
        "S:燃气软管老化开裂，存在漏气隐患",
        "督促更换燃气软管并上门复查",
    ),
    (
        "S:插线板串接使用，存在超负荷用电隐患",
        "协助更换合格插座并讲解安全用电",
    ),
    ("SU:烟雾报警器电池失效", "更换烟雾报警器电池并测试"),
    ("SR:房屋后墙出现新的裂缝", "报告村委会安排人员查看房屋安全"),
    ("SU:楼道堆放杂物堵塞消防通道", "通知物业清理楼道杂物"),
    ("SR:化粪池盖板破损，有跌落风险", "上报村委会更换盖板"),
    ("E:老人常用降压药即将用完", "联系家庭医生上门续开药品"),
    ("城乡居民医保尚未缴费", "提醒并协助完成医保缴费"),
    ("L:低保年审材料不齐全", "协助补齐收入证明等年审材料"),
    (
        "K:孩子近期情绪低落，不愿上学",
        "联系学校班主任共同关注孩子情况",
    ),
    ("邻里因排水问题发生口角", "约双方到网格议事点进行调解"),
    (
        "户主有就业意愿但缺少渠道",
        "推荐参加街道招聘会并登记求职信息",
    ),
    ("D:残疾人两项补贴本月未到账", "向民政专干核实补贴发放情况"),
    (
        "E:老人近期在家跌倒过一次",
        "协调子女和邻居加强照看，申请安装呼叫器",
    ),
    ("家中饮用水水压不足，时有停水", "联系供水站检查入户管网"),
    ("户主接到可疑的中奖电话", "上门讲解防诈骗知识并安装反诈APP"),
];

/// `config.visits` visits, sorted by time, spread over households by tier weight.
pub fn generate<R: Rng>(
    rng: &mut R,
    config: &WorkloadConfig,
    households: &[NewHousehold],
    homes: &[GeoPoint],
) -> Vec<PlannedVisit> {
    let weights = households.iter().map(|h| visit_weight(h.tier));
    let Ok(choose) = WeightedIndex::new(weights) else {
        return Vec::new(); // No households to visit.
    };
    let mut visits = Vec::with_capacity(config.visits);
    for _ in 0..config.visits {
        let index = choose.sample(rng);
        let household = &households[index];
        let worker = match household.contacts.len() {
            0 => "w-unassigned".to_string(),
            n => household.contacts[rng.random_range(0..n)].clone(),
        };
        let rural = matches!(household.address, Address::Rural { .. });
        let mode = match pools::weighted(rng, if rural { &[55, 25, 20] } else { &[65, 30, 5] }) {
            1 if !household.phone.is_empty() => VisitMode::Phone,
            2 => VisitMode::CourtyardMeeting,
            _ => VisitMode::DoorToDoor,
        };
        let at = work_time(rng, config.start, config.days);
        let notes = notes::compose(rng, household, mode, at);
        let situation = notes::Situation::of(household, mode, at);
        let (findings, follow_ups) = findings(rng, &situation, at);
        let home = homes.get(index).copied();
        let geo = match mode {
            VisitMode::DoorToDoor => home.map(|p| jitter(rng, p, 0.0002)),
            VisitMode::CourtyardMeeting if rng.random_bool(0.5) => {
                home.map(|p| jitter(rng, p, 0.001))
            }
            _ => None,
        };
        visits.push(PlannedVisit {
            household: index,
            worker,
            at,
            mode,
            notes,
            findings,
            follow_ups,
            geo,
        });
    }
    visits.sort_by_key(|v| (v.at, v.household));
    visits
}

/// For [`FINDING_RATE`] of visits, 1-2 findings that fit the situation, each with a
/// follow-up due 3-14 days later.
fn findings<R: Rng>(
    rng: &mut R,
    situation: &notes::Situation,
    at: Timestamp,
) -> (Vec<String>, Vec<FollowUp>) {
    let mut findings = Vec::new();
    let mut follow_ups = Vec::new();
    if !rng.random_bool(FINDING_RATE) {
        return (findings, follow_ups);
    }
    let possible: Vec<(&str, &str)> = FINDINGS
        .iter()
        .filter_map(|(found, todo)| Some((situation.admit(found)?, *todo)))
        .collect();
    let count = if rng.random_bool(0.7) { 1 } else { 2 };
    for _ in 0..count {
        let (found, todo) = *pick(rng, &possible);
        if findings.iter().any(|f| f == found) {
            continue;
        }
        findings.push(found.to_string());
        let due = at + rng.random_range(3..=14) * DAY_MS;
        follow_ups.push(FollowUp {
            text: todo.to_string(),
            due,
            done: false,
        });
    }
    (findings, follow_ups)
}

/// A moment in working hours (08:30-11:50 or 14:00-17:50, UTC+8 if `start` is a local
/// midnight) on one of the `days` days from `start`; weekends are less likely.
pub fn work_time<R: Rng>(rng: &mut R, start: Timestamp, days: u32) -> Timestamp {
    let days = Timestamp::from(days.max(1));
    let mut day = rng.random_range(0..days);
    for _ in 0..3 {
        let weekday = ((start + 8 * 3_600_000).div_euclid(DAY_MS) + day + 3).rem_euclid(7);
        if weekday < 5 || !rng.random_bool(0.7) {
            break;
        }
        day = rng.random_range(0..days);
    }
    let minute: Timestamp = if rng.random_bool(0.55) {
        rng.random_range(8 * 60 + 30..11 * 60 + 50)
    } else {
        rng.random_range(14 * 60..17 * 60 + 50)
    };
    start + day * DAY_MS + minute * 60_000 + rng.random_range(0..60) * 1000
}
