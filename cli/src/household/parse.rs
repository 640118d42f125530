//! Parsing the household flags that carry structure (members, addresses, field names), in
//! the forms a Chinese input method types: full-width `／`, `：` and digits too.

use anyhow::{Result, anyhow, bail};
use gridsync_core::model::{Address, HouseholdField, Member};

/// Parses `NAME:YEAR:RELATION` (full-width colons too).
pub(super) fn parse_member(s: &str) -> Result<Member, String> {
    let digits = ascii_digits(s);
    let parts: Vec<&str> = digits.split([':', '：']).map(str::trim).collect();
    let bad = || format!("member {s:?} is not NAME:YEAR:RELATION, e.g. 王小明:2012:孙子");
    let [name, year, relation] = parts.as_slice() else {
        return Err(bad());
    };
    let birth_year = year.parse().map_err(|_| bad())?;
    Ok(Member {
        name: name.to_string(),
        birth_year,
        relation: relation.to_string(),
    })
}

/// Parses `A/B/C` into an urban or rural address.
pub(super) fn parse_address(text: Option<&str>, rural: Option<&str>) -> Result<Option<Address>> {
    let (s, is_rural) = match (text, rural) {
        (Some(s), None) => (s, false),
        (None, Some(s)) => (s, true),
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => bail!("give either --address or --rural, not both"),
    };
    let parts: Vec<String> = ascii_digits(s)
        .split(['/', '／'])
        .map(|p| p.trim().to_string())
        .collect();
    let [a, b, c] = <[String; 3]>::try_from(parts).map_err(|_| {
        if is_rural {
            anyhow!("--rural {s:?} is not GROUP/COURTYARD/NUMBER, e.g. 四组/柳树湾/12号")
        } else {
            anyhow!("--address {s:?} is not BUILDING/UNIT/ROOM, e.g. 3栋/2单元/501")
        }
    })?;
    Ok(Some(if is_rural {
        Address::Rural {
            group: a,
            courtyard: b,
            number: c,
        }
    } else {
        Address::Urban {
            building: a,
            unit: b,
            room: c,
        }
    }))
}

/// Full-width digits (`１０１`, as Chinese input methods type them) as ASCII digits.
pub(super) fn ascii_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '０'..='９' => char::from_digit(c as u32 - '０' as u32, 10).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Parses the field `household resolve` settles, by its English or Chinese name.
pub(super) fn parse_field(s: &str) -> Result<HouseholdField> {
    let t = s.trim().to_lowercase();
    HouseholdField::parse(&t)
        .or(match t.as_str() {
            "户主" | "姓名" | "户主姓名" | "名字" => Some(HouseholdField::Head),
            "电话" | "手机" | "联系电话" | "电话号码" => Some(HouseholdField::Phone),
            "地址" | "住址" | "门牌" => Some(HouseholdField::Address),
            "成员" | "家庭成员" | "人员" => Some(HouseholdField::Members),
            "等级" | "分级" | "户类" | "类别" => Some(HouseholdField::Tier),
            _ => None,
        })
        .ok_or_else(|| {
            anyhow!(
                "unknown field {s:?}: use head (户主), phone (电话), address (地址), members (成员) or tier (等级)"
            )
        })
}
