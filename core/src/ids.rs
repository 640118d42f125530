//! Identifiers every layer shares: documents, grid paths, devices and time.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Milliseconds since the Unix epoch (UTC). Time is always passed in, never read inside the
/// model, so tests and the sans-IO sync protocol run on a virtual clock.
pub type Timestamp = i64;

/// The system clock, read only by drivers (the QUIC client, the relay's connections, the
/// CLI) and [`crate::replica::system_clock`]; everything else takes time as an argument.
pub fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Timestamp)
}

/// One day in milliseconds.
pub const DAY_MS: Timestamp = 24 * 60 * 60 * 1000;

/// What kind of record a document holds; the first letter of every [`DocId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DocKind {
    /// A household 户 and its members, tier and tier history.
    Household,
    /// One visit 走访 to a household (a page of the people's-condition diary).
    Visit,
    /// A case 事件 and its timeline of actions.
    Case,
}

impl DocKind {
    fn prefix(self) -> char {
        match self {
            DocKind::Household => 'h',
            DocKind::Visit => 'v',
            DocKind::Case => 'c',
        }
    }

    fn from_prefix(c: char) -> Option<Self> {
        match c {
            'h' => Some(DocKind::Household),
            'v' => Some(DocKind::Visit),
            'c' => Some(DocKind::Case),
            _ => None,
        }
    }
}

/// The id of one record's document: a kind letter, `-`, and 32 lowercase hex digits
/// (`h-3f2a…`). Random, so handsets create records offline without coordination.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocId(String);

impl TryFrom<String> for DocId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        DocId::parse(&s)
    }
}

impl From<DocId> for String {
    fn from(d: DocId) -> String {
        d.0
    }
}

impl DocId {
    /// A fresh random id of the given kind.
    pub fn new(kind: DocKind) -> Self {
        DocId(format!(
            "{}-{}",
            kind.prefix(),
            uuid::Uuid::new_v4().simple()
        ))
    }

    /// Parses and validates an id that came from outside (the app, the wire, the store).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::invalid("id", format!("{s:?} is not a gridsync record id"));
        let mut chars = s.chars();
        let kind = chars
            .next()
            .and_then(DocKind::from_prefix)
            .ok_or_else(bad)?;
        let _ = kind;
        if chars.next() != Some('-') {
            return Err(bad());
        }
        let rest = &s[2..];
        if rest.len() != 32
            || !rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        Ok(DocId(s.to_string()))
    }

    /// The kind of record this id names.
    pub fn kind(&self) -> DocKind {
        // Constructed only by `new` and `parse`, so the prefix is always valid.
        self.0
            .chars()
            .next()
            .and_then(DocKind::from_prefix)
            .unwrap_or(DocKind::Household)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a record lives in the territory tree, `/`-separated from the top:
/// `city/district/street/community/grid` (urban) or `county/township/village/grid` (rural).
/// Access is granted by subtrees: a grant of `a/b` covers `a/b` and `a/b/c`, not `a/bc`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GridPath(String);

impl TryFrom<String> for GridPath {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        GridPath::parse(&s)
    }
}

impl From<GridPath> for String {
    fn from(g: GridPath) -> String {
        g.0
    }
}

/// Longest grid path accepted, in bytes.
pub const MAX_GRID_PATH: usize = 256;

impl GridPath {
    /// Parses a grid path: 1 to 8 non-empty segments without `/` at either end, no
    /// control characters, at most [`MAX_GRID_PATH`] bytes.
    pub fn parse(s: &str) -> Result<Self> {
        let problem = if s.is_empty() {
            Some("is empty")
        } else if s.len() > MAX_GRID_PATH {
            Some("is longer than 256 bytes")
        } else if s.split('/').any(|seg| seg.trim().is_empty()) {
            Some("has an empty segment (leading, trailing or double '/')")
        } else if s.split('/').any(|seg| seg == "." || seg == "..") {
            Some("has a '.' or '..' segment (a grid is named, not navigated)")
        } else if s.split('/').count() > 8 {
            Some("has more than 8 levels")
        } else if s.chars().any(char::is_control) || s.trim() != s {
            Some("contains a control character or surrounding spaces")
        } else {
            None
        };
        match problem {
            Some(p) => Err(Error::invalid("grid", format!("grid path {s:?} {p}"))),
            None => Ok(GridPath(s.to_string())),
        }
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `self` is `other` or lies below it (`other` is a subtree grant).
    pub fn is_within(&self, other: &GridPath) -> bool {
        self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// The segments from the top of the tree down.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for GridPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_round_trip_and_reject_garbage() {
        let id = DocId::new(DocKind::Case);
        assert_eq!(DocId::parse(id.as_str()).unwrap(), id);
        assert_eq!(id.kind(), DocKind::Case);
        for bad in [
            "",
            "x-00",
            "h-",
            "h_0123456789abcdef0123456789abcdef",
            "h-0123456789ABCDEF0123456789abcdef",
        ] {
            assert!(DocId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn grid_subtrees() {
        let community = GridPath::parse("ankang/hanbin/laocheng/xinhua").unwrap();
        let grid = GridPath::parse("ankang/hanbin/laocheng/xinhua/g03").unwrap();
        let sibling = GridPath::parse("ankang/hanbin/laocheng/xinhua2").unwrap();
        assert!(grid.is_within(&community));
        assert!(community.is_within(&community));
        assert!(!sibling.is_within(&community));
        assert!(!community.is_within(&grid));
        for bad in ["", "/a", "a/", "a//b", "a/\u{7}"] {
            assert!(GridPath::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}

#[cfg(test)]
mod serde_tests {
    use super::*;

    #[test]
    fn invalid_ids_do_not_deserialize() {
        assert!(serde_json::from_str::<DocId>("\"x-1\"").is_err());
        assert!(serde_json::from_str::<GridPath>("\"a//b\"").is_err());
        let g: GridPath = serde_json::from_str("\"a/b\"").unwrap();
        assert_eq!(g.as_str(), "a/b");
    }

    #[test]
    fn a_grid_path_names_grids_and_cannot_navigate() {
        for bad in ["ankang/..", "../g01", "ankang/./g01", ".", "a/../b"] {
            let e = GridPath::parse(bad).expect_err(bad);
            assert!(e.to_string().contains("'..'"), "{bad}: {e}");
        }
        for good in ["ankang/g.01", "ankang/...", "新华/一网格"] {
            assert!(GridPath::parse(good).is_ok(), "{good}");
        }
    }
}
