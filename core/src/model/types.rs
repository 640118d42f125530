//! Plain record types: what the app passes in and gets back. They carry no automerge
//! paths; `model::household`, `model::visit` and `model::case` map them onto documents.

use serde::{Deserialize, Serialize};

use crate::ids::{DocId, GridPath, Timestamp};

pub use super::grants::Role;

/// Visit-need tier of a household (Ankang's "three kinds of household").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tier {
    /// 放心户: stable; served on request.
    Green,
    /// 关心户: below the village's average income; visited regularly by a nearby contact.
    Yellow,
    /// 连心户: left-behind, disabled, at risk; one-to-one help, constant contact.
    Red,
}

impl Tier {
    /// Lowercase English name, as stored in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Green => "green",
            Tier::Yellow => "yellow",
            Tier::Red => "red",
        }
    }

    /// Parses `green`/`yellow`/`red` (also 绿/黄/红).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "green" | "绿" | "放心户" => Some(Tier::Green),
            "yellow" | "黄" | "关心户" => Some(Tier::Yellow),
            "red" | "红" | "连心户" => Some(Tier::Red),
            _ => None,
        }
    }
}

/// Where a household lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Address {
    /// Building 楼栋, unit 单元, room 室 in a town estate.
    Urban {
        /// Building number or name.
        building: String,
        /// Unit (stairwell).
        unit: String,
        /// Room.
        room: String,
    },
    /// Village group 村民小组, courtyard 院落, house number in a village.
    Rural {
        /// Village group.
        group: String,
        /// Courtyard (cluster of ~10-20 households).
        courtyard: String,
        /// House number.
        number: String,
    },
}

/// A member of a household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Full name.
    pub name: String,
    /// Year of birth.
    pub birth_year: u16,
    /// Relation to the head (户主, 配偶, 子女, 父母 ...).
    pub relation: String,
}

/// What the app supplies to register a household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewHousehold {
    /// The grid the household belongs to.
    pub grid: GridPath,
    /// Its address.
    pub address: Address,
    /// Head of household (户主).
    pub head: String,
    /// Members, the head included or not as the app prefers.
    pub members: Vec<Member>,
    /// Contact phone, may be empty.
    pub phone: String,
    /// Starting tier.
    pub tier: Tier,
    /// Tags (留守老人, 残疾人, 独居, 低保 ...).
    pub tags: Vec<String>,
    /// Worker ids of the people assigned to contact the household.
    pub contacts: Vec<String>,
}

/// A change of tier, kept forever in the household's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierChange {
    /// The new tier.
    pub tier: Tier,
    /// Who changed it (worker id).
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Why.
    pub reason: String,
}

/// Why a household left the lists: registered twice (a duplicate of the one kept), moved
/// away, or gone. Its document and visits are kept; retiring is undone by reinstating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retirement {
    /// Who retired it (worker id).
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// The household kept in its place, when it was a duplicate.
    pub duplicate_of: Option<DocId>,
    /// Why, in the worker's words.
    pub reason: String,
}

/// A household as read back from the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    /// Its id.
    pub id: DocId,
    /// Its grid.
    pub grid: GridPath,
    /// Its address.
    pub address: Address,
    /// Head of household.
    pub head: String,
    /// Members.
    pub members: Vec<Member>,
    /// Phone.
    pub phone: String,
    /// The tier in force: the latest change as every replica orders it. After two offline
    /// changes it is one of them, the same on every replica, and the household's conflicts
    /// list both until one is chosen.
    pub tier: Tier,
    /// Every tier change, oldest first; the first is the registration. Conflicting changes
    /// and the choice that settled them are all kept.
    pub tier_history: Vec<TierChange>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Assigned contact people, sorted.
    pub contacts: Vec<String>,
    /// Set when the household was retired (left out of lists and the due list).
    pub retired: Option<Retirement>,
}

/// A field-level edit of a household. `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdUpdate {
    /// New head of household.
    pub head: Option<String>,
    /// New phone.
    pub phone: Option<String>,
    /// New address.
    pub address: Option<Address>,
    /// Replace the member list.
    pub members: Option<Vec<Member>>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// Contact people to add.
    pub add_contacts: Vec<String>,
    /// Contact people to remove.
    pub remove_contacts: Vec<String>,
}

/// How a visit was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VisitMode {
    /// 入户走访: at the door.
    DoorToDoor,
    /// 电话: by phone.
    Phone,
    /// 院落会: at a courtyard meeting.
    CourtyardMeeting,
}

impl VisitMode {
    /// Stable name stored in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            VisitMode::DoorToDoor => "door_to_door",
            VisitMode::Phone => "phone",
            VisitMode::CourtyardMeeting => "courtyard_meeting",
        }
    }

    /// Parses [`VisitMode::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "door_to_door" => Some(VisitMode::DoorToDoor),
            "phone" => Some(VisitMode::Phone),
            "courtyard_meeting" => Some(VisitMode::CourtyardMeeting),
            _ => None,
        }
    }
}

/// Something to do after a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// What to do.
    pub text: String,
    /// By when.
    pub due: Timestamp,
    /// Done yet.
    pub done: bool,
}

/// A WGS-84 point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// What the app supplies to log a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewVisit {
    /// The household visited.
    pub household: DocId,
    /// Who visited (worker id). On write the handset's worker replaces what is given.
    pub worker: String,
    /// When.
    pub at: Timestamp,
    /// How.
    pub mode: VisitMode,
    /// The diary entry (typically 150-300 characters).
    pub notes: String,
    /// Problems found.
    pub findings: Vec<String>,
    /// Things to follow up.
    pub follow_ups: Vec<FollowUp>,
    /// Where, if the handset knew.
    pub geo: Option<GeoPoint>,
}

/// A visit as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// Its id.
    pub id: DocId,
    /// The household's grid.
    pub grid: GridPath,
    /// The rest, as logged (follow-ups with their current done state).
    pub record: NewVisit,
}

/// The three-way split 三事分流.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TriageClass {
    /// 大事: government services, big projects; led by the street.
    Big,
    /// 小事: community-wide affairs; led by the residents' or villagers' committee.
    Small,
    /// 私事: a person's or one grid's own affairs.
    Private,
}

impl TriageClass {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            TriageClass::Big => "big",
            TriageClass::Small => "small",
            TriageClass::Private => "private",
        }
    }

    /// Parses [`TriageClass::as_str`] (also 大事/小事/私事).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "big" | "大事" => Some(TriageClass::Big),
            "small" | "小事" => Some(TriageClass::Small),
            "private" | "私事" => Some(TriageClass::Private),
            _ => None,
        }
    }
}

/// The level that handles a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// The grid itself.
    Grid,
    /// The community (residents' / villagers' committee).
    Community,
    /// The street / township and government departments.
    Street,
}

impl Level {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Grid => "grid",
            Level::Community => "community",
            Level::Street => "street",
        }
    }

    /// Parses [`Level::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "grid" => Some(Level::Grid),
            "community" => Some(Level::Community),
            "street" => Some(Level::Street),
            _ => None,
        }
    }

    /// The next level up, if any.
    pub fn up(self) -> Option<Level> {
        match self {
            Level::Grid => Some(Level::Community),
            Level::Community => Some(Level::Street),
            Level::Street => None,
        }
    }
}

/// What the app supplies to report a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCase {
    /// The grid the case belongs to.
    pub grid: GridPath,
    /// Who reports it (worker id). On write the handset's worker replaces what is given.
    pub reporter: String,
    /// The reporter's role: one the handset's worker holds.
    pub role: Role,
    /// The household concerned, if any.
    pub household: Option<DocId>,
    /// One line.
    pub title: String,
    /// The details.
    pub description: String,
    /// Kind of matter, from the community's triage catalogue (矛盾纠纷, 环境卫生 ...).
    pub category: String,
    /// When it was reported.
    pub at: Timestamp,
}
