//! Word pools for people and places: surnames, given-name characters, worker ids in
//! pinyin, relations, tags and rural place names; and the small sampling helpers the
//! generators share.

use rand::Rng;

/// Common surnames (~60), most frequent first.
pub const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
];

/// Characters used in given names (155, all distinct), drawn 1-2 at a time.
pub const GIVEN_CHARS: &str = concat!(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉林鹏飞波斌宇浩凯俊帅鑫博云",
    "峰志成海春梅琴丹亮燕玲慧莉婷雪晨欣阳佳琳颖倩宁德福寿贵荣富昌永兴安学清新光远力树生水山松柏",
    "菊莲凤翠珍珠金银淑贤惠巧彩霖子涵轩睿思怡梓萱若晴雨诗语嘉欢乐正义忠良和顺泽润东南北秋冬立仁",
    "礼智信长青翔宏伦豪勤琪瑶婉桃杏敬振卫涌彬",
);

/// Pinyin surnames for worker ids.
pub const WORKER_SURNAMES: &[&str] = &[
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma",
    "zhu", "hu", "guo", "he", "gao", "lin", "luo", "zheng", "liang", "xie", "song", "tang",
];

/// Pinyin given names for worker ids.
pub const WORKER_GIVEN: &[&str] = &[
    "na", "wei", "fang", "min", "jing", "li", "qiang", "lei", "jun", "yang", "yong", "yan", "jie",
    "juan", "tao", "ming", "chao", "xia", "ping", "gang", "hua", "hong", "hui", "bo", "yu", "hao",
    "kai", "xin", "yun", "feng", "mei", "qin", "dan", "ling", "ting",
];

/// Relation of the head to themselves.
pub const HEAD: &str = "户主";
/// Husband or wife of the head.
pub const SPOUSE: &str = "配偶";
/// Son or daughter.
pub const CHILD: &str = "子女";
/// Father or mother.
pub const PARENT: &str = "父母";
/// Grandson or granddaughter.
pub const GRANDCHILD: &str = "孙子女";

/// Red-household tags that shape the household (who lives there).
pub const RED_PRIMARY: &[&str] = &[
    "留守老人",
    "留守儿童",
    "独居",
    "残疾人",
    "刑满释放人员家属",
    "重病患者",
    "防返贫监测户",
];
/// Red-household tags added on top of a primary one.
pub const RED_SECONDARY: &[&str] = &["低保", "特困供养", "残疾人", "重病患者", "低保"];
/// Yellow-household tags.
pub const YELLOW_TAGS: &[&str] = &[
    "低收入",
    "慢性病",
    "单亲家庭",
    "失业人员",
    "高龄老人",
    "空巢老人",
    "大病救助",
];
/// Occasional green-household tags.
pub const GREEN_TAGS: &[&str] = &["党员户", "退役军人", "志愿者", "外出务工", "新市民"];
/// Tags that mark old people living without their children.
pub const ELDERLY_TAGS: &[&str] = &["留守老人", "独居", "高龄老人", "空巢老人"];

/// Tags of households living on little or no income.
pub const LOW_INCOME_TAGS: &[&str] = &["低保", "低收入", "特困供养", "防返贫监测户", "大病救助"];

/// Rural courtyards 院落 (clusters of 10-20 households).
pub const COURTYARDS: &[&str] = &[
    "柳树湾院落",
    "黄家坪院落",
    "石板沟院落",
    "枣树垭院落",
    "竹园院落",
    "大堰塘院落",
    "王家湾院落",
    "松树梁院落",
    "核桃坪院落",
    "茶园院落",
    "杨家院落",
    "花屋场院落",
    "板桥院落",
    "水井湾院落",
];

/// Chinese numerals 1-12, for village groups (第四村民小组).
pub const NUMERALS: &[&str] = &[
    "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
];

/// Places in an urban grid that are not a household's own building.
pub const URBAN_PLACES: &[&str] = &[
    "小区东门",
    "小区西门",
    "中心广场",
    "菜市场路口",
    "幼儿园门口",
    "社区卫生服务站旁",
    "老年活动中心",
    "地下车库入口",
    "商业街",
];
/// Places in a rural grid that are not a household's own courtyard.
pub const RURAL_PLACES: &[&str] = &[
    "村委会",
    "村卫生室",
    "小学门口",
    "产业路",
    "集中安置点",
    "文化广场",
    "茶厂",
    "河堤",
];

/// A uniformly chosen element. The pools are non-empty constants; an empty slice would be
/// a programming error (and panics in `random_range`).
pub fn pick<'a, T, R: Rng>(rng: &mut R, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Index chosen with the given relative weights (non-empty, positive total).
pub fn weighted<R: Rng>(rng: &mut R, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (i, w) in weights.iter().enumerate() {
        if roll < *w {
            return i;
        }
        roll -= w;
    }
    weights.len().saturating_sub(1)
}

/// A Chinese full name: `surname` (or a random one) and 1-2 given-name characters
/// (2-3 characters in all, three-character names more common).
pub fn person_name<R: Rng>(rng: &mut R, given: &[char], surname: Option<&str>) -> String {
    let mut name = surname.unwrap_or_else(|| *pick(rng, SURNAMES)).to_string();
    let len = if rng.random_bool(0.7) { 2 } else { 1 };
    for _ in 0..len {
        name.push(*pick(rng, given));
    }
    name
}

/// The given-name characters as a slice (built once per generation).
pub fn given_chars() -> Vec<char> {
    GIVEN_CHARS.chars().collect()
}

/// A mobile number: 11 digits, `1`, a carrier digit, then nine more.
pub fn phone<R: Rng>(rng: &mut R) -> String {
    let carrier = *pick(rng, &["3", "5", "7", "8", "9"]);
    let rest: u32 = rng.random_range(0..1_000_000_000);
    format!("1{carrier}{rest:09}")
}

/// Replaces `{h}` (head's name), `{k}` (member count), `{n}` (a small number) and `{m}`
/// (a monthly amount in yuan) in a phrase.
pub fn fill<R: Rng>(rng: &mut R, phrase: &str, head: &str, members: usize) -> String {
    let mut out = phrase
        .replace("{h}", head)
        .replace("{k}", &members.to_string());
    if out.contains("{n}") {
        out = out.replace("{n}", pick::<&str, _>(rng, &["两", "三", "四", "五", "六"]));
    }
    if out.contains("{m}") {
        let amount = *pick(
            rng,
            &[300, 500, 600, 800, 1200, 1500, 2000, 2500, 3000, 3500],
        );
        out = out.replace("{m}", &amount.to_string());
    }
    out
}
