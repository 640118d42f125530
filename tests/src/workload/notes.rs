//! The people's-condition diary (民情日记): 150-300 character visit notes assembled from
//! phrase pools chosen by visit mode and household situation, so that notes read like a
//! worker's entries and rarely repeat.
//!
//! Placeholders: `{h}` head's name, `{k}` member count, `{n}` a small number, `{m}` yuan.
//! Markers (`R:`, `UE:` ...) restrict a phrase to the households it fits; see [`Situation`].

use gridsync_core::Timestamp;
use gridsync_core::model::{Address, NewHousehold, VisitMode};
use rand::Rng;
use rand::seq::SliceRandom;

use super::households::year_of;
use super::pools::{self, pick};

/// Shortest note, in characters.
pub const MIN_CHARS: usize = 150;
/// Longest note, in characters.
pub const MAX_CHARS: usize = 300;

const OPEN_DOOR: &[&str] = &[
    "今天上午到{h}家入户走访，户主在家，精神状态不错，屋里收拾得比较整洁。",
    "下午按计划走访{h}家，敲门后是户主开的门，家里{k}口人今天都在。",
    "按照四必访要求，今日入户走访{h}家，了解近期生产生活情况。",
    "结合日清点安排，上门看望{h}，坐下来拉了大约半个小时家常。",
    "走访{h}家时户主正在做饭，停下手里的活和我们聊了一会儿。",
    "U:今天和楼栋长一起到{h}家走访，户主热情接待，主动介绍了家里近况。",
    "R:冒雨到{h}家入户，山路有些湿滑，到时户主刚从地里回来。",
    "R:和中心户长一起步行四十分钟到{h}家，户主在院坝里晒玉米。",
];
const OPEN_PHONE: &[&str] = &[
    "电话回访{h}，接电话的是户主本人，声音听起来精神还可以。",
    "R:因连续下雨山路不便上门，电话联系{h}，询问近期身体和生活情况。",
    "电话联系{h}，第一次没有接通，半小时后回拨才联系上。",
    "按周例会安排电话回访{h}，通话约十分钟，户主说话比较清楚。",
    "R:村里信号时好时坏，分两次才和{h}把情况问清楚。",
    "U:{h}白天上班不在家，晚饭后电话联系，聊了近况。",
];
const OPEN_COURTYARD: &[&str] = &[
    "R:在院落会上与{h}面对面交流，会后又单独聊了一会儿。",
    "R:今晚召开院落坝坝会，{h}到场参加，并就家里情况作了反映。",
    "R:利用院落议事会的机会，向{h}了解近况，周边几户邻居也在场。",
    "R:中心户长组织院落会，{h}带着家里人一起来的，会上发言比较积极。",
    "U:在楼栋议事会上见到{h}，会后在单元门口聊了一会儿。",
    "U:小区网格邻里会上，{h}就家里情况和楼里的事提了几点意见。",
];
const HEALTH: &[&str] = &[
    "户主说最近血压有些偏高，每天按时吃药，家庭医生上周来量过一次。",
    "家里有人患糖尿病多年，需要长期服药，每月药费大约{m}元。",
    "户主前段时间感冒咳嗽，现在基本好了，叮嘱注意保暖。",
    "询问了家庭医生签约情况，已签约，但对随访时间记得不太清楚。",
    "E:老人说晚上睡眠不好，白天容易犯困，建议到卫生院做个检查。",
    "家中病人术后恢复情况良好，已经能够自己下床走动。",
    "R:提醒户主按时参加今年的免费健康体检，体检地点在镇卫生院。",
    "U:提醒户主按时参加今年的免费健康体检，地点在社区卫生服务中心。",
    "户主腰椎不好，干不了重活，最近在做理疗，效果一般。",
    "D:家中残疾人康复训练坚持得不错，辅助器具使用正常。",
    "E:老人腿脚不太灵便，平时拄拐杖，很少出远门。",
];
const INCOME: &[&str] = &[
    "家里主要收入靠儿子在外务工，每月寄回{m}元左右。",
    "户主在附近工地打零工，活不稳定，一个月能干二十来天。",
    "R:今年种了几亩茶叶和魔芋，收成比去年好一些。",
    "U:户主在小区门口经营一家小卖部，生意一般，勉强维持。",
    "询问就业意愿，户主希望能在附近找份保洁或保安的工作。",
    "R:家里养了{n}头猪，准备年底出栏，目前价格还可以。",
    "L:配偶在公益性岗位上班，每月工资{m}元。",
    "户主反映近来物价上涨，家里开支有些紧张，但还能应付。",
    "R:户主在村里的社区工厂上班，离家近，能照顾家里。",
    "U:户主在商场做导购，轮班上，收入还算稳定。",
    "L:家里收入主要靠低保金和养老金，每月合计{m}元左右。",
];
const ON_SITE: &[&str] = &[
    "R:房屋是前几年危房改造后新建的，结构安全，屋内干燥。",
    "查看了房屋情况，厨房墙面有轻微渗水，暂不影响居住。",
    "U:住房在老旧小区六楼，没有电梯，上下楼比较吃力。",
    "R:院坝里堆放了一些柴火和杂物，提醒注意防火并及时清理。",
    "R:卫生间是改厕后新修的，使用正常，户主比较满意。",
    "检查了厨房燃气灶和软管，软管连接牢固，没有闻到异味。",
    "查看了家中用电情况，插线板使用较多，提醒不要超负荷用电。",
    "U:检查了烟雾报警器，按测试键能正常报警。",
    "屋内有部分电线老化外露，建议请电工检查更换。",
    "E:检查了老人床头的一键呼叫器，电池电量正常，能正常拨通。",
    "R:查看了水窖和入户水管，今年用水有保障。",
];
const REMIND: &[&str] = &[
    "U:提醒电动车不要在楼道和屋内充电，要到集中充电点充电。",
    "冬季取暖不要在卧室里烧炭火盆，讲解了一氧化碳中毒的危险。",
    "R:提醒雨季注意房屋后山滑坡隐患，发现裂缝及时报告。",
    "提醒做饭时人不离灶，用完燃气随手关闭阀门。",
    "宣传了防范电信诈骗知识，提醒不要给陌生人转账。",
    "R:提醒秋冬季节上山烧荒要注意森林防火。",
];
const CHILDREN: &[&str] = &[
    "R:孩子在镇中心小学读书，成绩中等，平时由爷爷奶奶接送。",
    "U:孩子在附近小学读书，放学后在社区四点半课堂写作业。",
    "大孩子今年上初中住校，周末才回家，小的还在读小学。",
    "询问了孩子的学习情况，老师反映最近上课注意力不太集中。",
    "K:孩子父母都在外地打工，每周和孩子视频通话一两次。",
    "提醒家长假期注意孩子防溺水安全，不要到河边玩耍。",
    "L:孩子申请的教育资助已经到账，家长表示感谢。",
];
const ELDERLY: &[&str] = &[
    "老人独自居住，子女在外地工作，一般过年才回来。",
    "老人平时一日三餐自己做，饭菜比较简单，家里有存粮。",
    "邻居每天会过来看一眼，有事也能帮忙打个电话。",
    "给老人留了网格员的电话号码，写在门后的便民联系卡上。",
    "老人说一个人在家有些孤单，希望我们有空多来坐坐。",
    "子女每周打一次电话回来，老人说孩子们都很孝顺。",
    "U:介绍了社区新开的老年食堂，六十岁以上老人用餐有补贴。",
    "告知高龄津贴已经按月发放，老人确认银行卡能收到。",
];
const DISPUTES: &[&str] = &[
    "R:户主反映与隔壁邻居因排水沟问题有些矛盾，双方还没有当面沟通。",
    "U:楼上住户装修噪音较大，户主有意见，已答应帮忙协调。",
    "R:两家因宅基地边界有争议，建议先由村民小组长出面调解。",
    "家庭内部因赡养老人问题有分歧，已做了初步劝解。",
    "之前反映的邻里纠纷经过调解已经平息，双方关系缓和。",
    "U:户主对小区停车位分配有意见，已记下并反映给物业。",
];
const POLICY: &[&str] = &[
    "向户主宣讲了城乡居民医保缴费政策，提醒在年底前完成缴费。",
    "解释了城乡居民养老保险的缴费档次和领取条件，户主表示会考虑。",
    "L:核实了低保家庭收入情况，并说明了低保年审需要准备的材料。",
    "讲解了大病医疗救助的申请流程，把材料清单留给了户主。",
    "说明了临时救助政策，家里遇到突发困难可以及时申请。",
    "D:讲解了残疾人两项补贴的标准，户主说每月都按时收到了。",
    "R:讲解了今年的产业奖补政策，种茶养殖都有补助。",
    "U:宣传了老旧小区改造的政策和进度，户主比较关心。",
];
const CLOSING: &[&str] = &[
    "临走时叮嘱户主有困难及时联系网格员。",
    "走访情况已记入民情日记，下次走访时再跟进。",
    "户主对近期工作表示满意，没有其他诉求。",
    "约定下周再来看看。",
    "已将相关情况向网格长作了汇报。",
    "户主表示理解和支持，暂无其他需要。",
];

/// Every pool, for tests: each phrase must be short enough to fit a note.
#[cfg(test)]
pub const ALL: &[&[&str]] = &[
    OPEN_DOOR,
    OPEN_PHONE,
    OPEN_COURTYARD,
    HEALTH,
    INCOME,
    ON_SITE,
    REMIND,
    CHILDREN,
    ELDERLY,
    DISPUTES,
    POLICY,
    CLOSING,
];

/// What a phrase may assume. A phrase may start with ASCII markers and `:`, each of which
/// must hold: `R` rural, `U` urban, `E` elderly, `L` low income, `D` disabled member,
/// `K` left-behind children, `S` the worker is on site.
#[derive(Debug, Clone, Copy)]
pub struct Situation {
    rural: bool,
    elderly: bool,
    low_income: bool,
    disabled: bool,
    left_behind: bool,
    children: bool,
    on_site: bool,
}

impl Situation {
    /// The situation of a visit to `household` at `at`.
    pub fn of(household: &NewHousehold, mode: VisitMode, at: Timestamp) -> Self {
        let has = |tags: &[&str]| household.tags.iter().any(|t| tags.contains(&t.as_str()));
        let year = year_of(at);
        let head_born = household
            .members
            .first()
            .map_or(1970, |m| i32::from(m.birth_year));
        Situation {
            rural: matches!(household.address, Address::Rural { .. }),
            elderly: has(pools::ELDERLY_TAGS) || year - head_born >= 65,
            low_income: has(pools::LOW_INCOME_TAGS),
            disabled: has(&["残疾人"]),
            left_behind: has(&["留守儿童"]),
            children: household
                .members
                .iter()
                .skip(1)
                .any(|m| year - i32::from(m.birth_year) < 18),
            on_site: mode == VisitMode::DoorToDoor,
        }
    }

    /// The phrase's text without its markers, if the situation admits it.
    pub fn admit<'a>(&self, phrase: &'a str) -> Option<&'a str> {
        let Some((markers, text)) = phrase.split_once(':') else {
            return Some(phrase);
        };
        let holds = |m: char| match m {
            'R' => self.rural,
            'U' => !self.rural,
            'E' => self.elderly,
            'L' => self.low_income,
            'D' => self.disabled,
            'K' => self.left_behind,
            'S' => self.on_site,
            _ => false,
        };
        markers.chars().all(holds).then_some(text)
    }
}

/// A diary note for a visit to `household` at `at`, 150-300 characters.
pub fn compose<R: Rng>(
    rng: &mut R,
    household: &NewHousehold,
    mode: VisitMode,
    at: Timestamp,
) -> String {
    let situation = Situation::of(household, mode, at);
    let mut topics: Vec<&[&str]> = vec![HEALTH, INCOME, POLICY, REMIND];
    if situation.on_site {
        topics.push(ON_SITE);
    }
    if situation.elderly {
        topics.push(ELDERLY);
    }
    if situation.children {
        topics.push(CHILDREN);
    }
    if rng.random_bool(0.3) {
        topics.push(DISPUTES);
    }
    let mut body: Vec<&str> = topics
        .into_iter()
        .flatten()
        .filter_map(|p| situation.admit(p))
        .collect();
    body.shuffle(rng);
    let opening = match mode {
        VisitMode::DoorToDoor => OPEN_DOOR,
        VisitMode::Phone => OPEN_PHONE,
        VisitMode::CourtyardMeeting => OPEN_COURTYARD,
    };
    let openings: Vec<&str> = opening.iter().filter_map(|p| situation.admit(p)).collect();

    let members = household.members.len().max(1);
    let fill = |rng: &mut R, phrase: &str| pools::fill(rng, phrase, &household.head, members);
    let closing = pick(rng, CLOSING);
    let closing = fill(rng, closing);
    let reserve = closing.chars().count();
    let target = rng.random_range(MIN_CHARS + 10..=MAX_CHARS - 10);
    let mut note = openings
        .get(rng.random_range(0..openings.len().max(1)))
        .map_or_else(String::new, |p| fill(rng, p));
    let mut len = note.chars().count();
    for phrase in body {
        let sentence = fill(rng, phrase);
        let n = sentence.chars().count();
        if len + n + reserve > MAX_CHARS {
            continue;
        }
        note.push_str(&sentence);
        len += n;
        if len + reserve >= target {
            break;
        }
    }
    note.push_str(&closing);
    note
}
