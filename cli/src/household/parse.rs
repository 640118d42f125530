//! Parsing the household flags that carry structure: members and addresses.

use anyhow::{Result, anyhow, bail};
use gridsync_core::model::{Address, Member};

/// Parses `NAME:YEAR:RELATION` (full-width colons too).
pub(super) fn parse_member(s: &str) -> Result<Member, String> {
    let parts: Vec<&str> = s.split([':', '：']).map(str::trim).collect();
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
    let parts: Vec<String> = s.split('/').map(|p| p.trim().to_string()).collect();
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
