//! Output helpers: Asia/Shanghai times (a fixed UTC+8, no tz database), tables that keep
//! Chinese text aligned, tier and enum labels, JSON printing, and short record ids.

use anyhow::{Result, anyhow, bail};
use gridsync_core::model::{Address, Role, Tier, VisitMode};
use gridsync_core::{DAY_MS, DocId, DocKind, Timestamp};
use serde::Serialize;

/// Asia/Shanghai's offset from UTC in milliseconds (no daylight saving since 1991).
pub const OFFSET_MS: Timestamp = 8 * 3600 * 1000;

const MINUTE_MS: Timestamp = 60 * 1000;

pub use gridsync_core::ids::now;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// `YYYY-MM-DD HH:MM` in Shanghai time.
pub fn time(t: Timestamp) -> String {
    let local = t + OFFSET_MS;
    let days = local.div_euclid(DAY_MS);
    let mins = local.rem_euclid(DAY_MS) / MINUTE_MS;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", mins / 60, mins % 60)
}

/// `HH:MM:SS` in Shanghai time, for event lines.
pub fn clock(t: Timestamp) -> String {
    let secs = (t + OFFSET_MS).rem_euclid(DAY_MS) / 1000;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `YYYY-MM-DD` in Shanghai time.
pub fn date(t: Timestamp) -> String {
    time(t)[..10].to_string()
}

/// An optional time, `-` when absent.
pub fn opt_time(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "-".to_string(), time)
}

/// Parses `YYYY-MM-DD HH:MM` (or `YYYY-MM-DD`, meaning 00:00) in Shanghai time.
pub fn parse_time(s: &str) -> Result<Timestamp> {
    let bad = || anyhow!("{s:?} is not a time: use YYYY-MM-DD HH:MM or YYYY-MM-DD (Beijing time)");
    let s = s.trim();
    let (day, clock) = match s.split_once([' ', 'T']) {
        Some((d, c)) => (d, Some(c.trim())),
        None => (s, None),
    };
    let num = |p: &str| -> Result<i64> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        p.parse().map_err(|_| bad())
    };
    let parts: Vec<&str> = day.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (y, m, d) = (num(y)?, num(m)?, num(d)?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 {
        return Err(bad());
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        bail!("{s:?} is not a date: {y}-{m:02} has no day {d}");
    }
    let (h, min) = match clock {
        None => (0, 0),
        Some(c) => {
            let (h, mi) = c.split_once(':').ok_or_else(bad)?;
            let (h, mi) = (num(h)?, num(mi)?);
            if h > 23 || mi > 59 {
                return Err(bad());
            }
            (h, mi)
        }
    };
    Ok(days * DAY_MS + (h * 60 + min) * MINUTE_MS - OFFSET_MS)
}

/// The columns a character takes in a terminal: 2 for East Asian wide characters.
fn char_width(c: char) -> usize {
    let u = c as u32;
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F
        | 0x20000..=0x3FFFD);
    if wide {
        2
    } else if c.is_control() || (0x300..=0x36F).contains(&u) || u == 0x200B {
        0
    } else {
        1
    }
}

/// Display width of a string in terminal columns.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Cuts `s` to at most `max` columns, ending with `…` when cut; newlines become spaces.
pub fn clip(s: &str, max: usize) -> String {
    let s = s.replace(['\n', '\r', '\t'], " ");
    if width(&s) <= max {
        return s;
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        if w + char_width(c) + 1 > max {
            break;
        }
        w += char_width(c);
        out.push(c);
    }
    out.push('…');
    out
}

/// A plain text table: a header row and left-aligned columns padded by display width.
#[derive(Debug)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are blank).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, with `empty` instead when there are no rows.
    pub fn render(&self, empty: &str) -> String {
        if self.rows.is_empty() {
            return format!("{empty}\n");
        }
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(width(c));
                }
            }
        }
        let mut out = String::new();
        for r in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, w) in widths.iter().enumerate() {
                let c = r.get(i).map_or("", String::as_str);
                line.push_str(c);
                if i + 1 < widths.len() {
                    line.push_str(&" ".repeat(w - width(c) + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Prints the table ([`crate::out::StdoutClosed`] when stdout's reader went away).
    pub fn print(&self, empty: &str) -> Result<()> {
        crate::out::write(format_args!("{}", self.render(empty)))
    }
}

/// Prints a value as one line of JSON.
pub fn json<T: Serialize + ?Sized>(v: &T) -> Result<()> {
    crate::outln!("{}", serde_json::to_string(v)?)
}

/// The tier as the colour word workers use: 红, 黄 or 绿.
pub fn tier(t: Tier) -> &'static str {
    match t {
        Tier::Red => "红",
        Tier::Yellow => "黄",
        Tier::Green => "绿",
    }
}

/// The tier with its name: `红 连心户`.
pub fn tier_long(t: Tier) -> &'static str {
    match t {
        Tier::Red => "红 连心户",
        Tier::Yellow => "黄 关心户",
        Tier::Green => "绿 放心户",
    }
}

/// An address as typed: `3栋/2单元/501` or `四组/柳树湾/12号`.
pub fn address(a: &Address) -> String {
    match a {
        Address::Urban {
            building,
            unit,
            room,
        } => format!("{building}/{unit}/{room}"),
        Address::Rural {
            group,
            courtyard,
            number,
        } => format!("{group}/{courtyard}/{number}"),
    }
}

/// How a visit was made, in a word.
pub fn mode(m: VisitMode) -> &'static str {
    match m {
        VisitMode::DoorToDoor => "入户 door",
        VisitMode::Phone => "电话 phone",
        VisitMode::CourtyardMeeting => "院落会 courtyard",
    }
}

/// A role with its Chinese name.
pub fn role(r: Role) -> String {
    let zh = match r {
        Role::GridWorker => "网格员",
        Role::GridLeader => "网格长",
        Role::CommunityStaff => "社区",
        Role::StreetStaff => "街道",
        Role::Supervisor => "监督员",
    };
    format!("{zh} {}", r.as_str())
}

/// How many characters of an id tables show; any unique prefix is accepted back.
pub const SHORT_ID: usize = 10;

/// The first [`SHORT_ID`] characters of an id.
pub fn short(id: &DocId) -> &str {
    &id.as_str()[..SHORT_ID.min(id.as_str().len())]
}

/// Finds the record an id or unique id prefix (`h-3f2a9b`) names among `candidates`.
pub fn resolve_id(
    text: &str,
    kind: DocKind,
    word: &str,
    candidates: impl FnOnce() -> Result<Vec<DocId>>,
) -> Result<DocId> {
    let text = text.trim();
    if let Ok(id) = DocId::parse(text) {
        if id.kind() != kind {
            bail!("{text} is not a {word} id");
        }
        return Ok(id);
    }
    let letter = match kind {
        DocKind::Household => "h-",
        DocKind::Visit => "v-",
        DocKind::Case => "c-",
    };
    let hex = text.strip_prefix(letter).unwrap_or("");
    if hex.len() < 4
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        bail!(
            "{text:?} is not a {word} id (expected {letter} and 32 hex digits, or a unique prefix of at least {letter}xxxx)"
        );
    }
    let found: Vec<DocId> = candidates()?
        .into_iter()
        .filter(|id| id.as_str().starts_with(text))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("unknown {word} {text}: no {word} on this handset has an id starting with it"),
        more => bail!(
            "{text} is ambiguous: {} {word}s start with it; type more of the id",
            more.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_time_round_trips() {
        let t = parse_time("2026-03-01 09:30").unwrap();
        assert_eq!(t, 1_772_328_600_000);
        assert_eq!(time(t), "2026-03-01 09:30");
        assert_eq!(clock(t + 5_000), "09:30:05");
        assert_eq!(date(parse_time("2024-02-29").unwrap()), "2024-02-29");
        assert_eq!(time(0), "1970-01-01 08:00");
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026-1-1 25:00",
            "tomorrow",
            "2026-03-01 9",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chinese_text_is_two_columns_wide() {
        assert_eq!(width("王芳"), 4);
        assert_eq!(width("3栋/2单元"), 9);
        let mut t = Table::new(&["户主", "tier"]);
        t.row(vec!["王芳".into(), "红".into()]);
        t.row(vec!["Li".into(), "绿".into()]);
        let text = t.render("");
        let cols: Vec<usize> = text
            .lines()
            .map(|l| width(&l[..l.rfind(' ').unwrap_or(0)]))
            .collect();
        assert!(cols.windows(2).all(|w| w[0] == w[1]), "{text}");
        assert_eq!(clip("一二三四五", 5), "一二…");
    }
}
