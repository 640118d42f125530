//! Households and visits as they cross the boundary: uniffi records and enums mirroring
//! `gridsync_core::model`, with ids and grid paths as strings and times as `i64` ms since
//! the Unix epoch (UTC). Conversions live in [`crate::convert`].

/// Visit-need tier of a household (Ankang's "three kinds of household").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Tier {
    /// 放心户: stable; served on request.
    Green,
    /// 关心户: below the village's average income; visited regularly.
    Yellow,
    /// 连心户: left-behind, disabled, at risk; one-to-one help, constant contact.
    Red,
}

/// Where a household lives.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
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
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Member {
    /// Full name.
    pub name: String,
    /// Year of birth (1900-2100).
    pub birth_year: u16,
    /// Relation to the head (户主, 配偶, 子女, 父母 ...).
    pub relation: String,
}

/// What the app supplies to register a household.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewHousehold {
    /// The grid path (`city/district/street/community/grid`).
    pub grid: String,
    /// Its address.
    pub address: Address,
    /// Head of household (户主); must not be empty.
    pub head: String,
    /// Members, the head included or not as the app prefers.
    #[uniffi(default)]
    pub members: Vec<Member>,
    /// Contact phone, may be empty.
    #[uniffi(default = "")]
    pub phone: String,
    /// Starting tier.
    pub tier: Tier,
    /// Tags (留守老人, 残疾人, 独居, 低保 ...).
    #[uniffi(default)]
    pub tags: Vec<String>,
    /// Worker ids of the people assigned to contact the household.
    #[uniffi(default)]
    pub contacts: Vec<String>,
}

/// A change of tier, kept forever in the household's history.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TierChange {
    /// The new tier.
    pub tier: Tier,
    /// Who changed it (worker id).
    pub by: String,
    /// When (ms).
    pub at: i64,
    /// Why.
    pub reason: String,
}

/// A household as read back from the store.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Household {
    /// Its id (`h-…`).
    pub id: String,
    /// Its grid path.
    pub grid: String,
    /// Its address.
    pub address: Address,
    /// Head of household.
    pub head: String,
    /// Members.
    pub members: Vec<Member>,
    /// Phone.
    pub phone: String,
    /// The tier in force; after two offline changes one of them, the same on every device,
    /// while `householdConflicts` lists both.
    pub tier: Tier,
    /// Every tier change, oldest first; the first is the registration.
    pub tier_history: Vec<TierChange>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Assigned contact people, sorted.
    pub contacts: Vec<String>,
    /// Set when the household was retired (left out of lists and due visits).
    pub retired: Option<Retirement>,
}

/// Why a household was retired (`retireHousehold`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Retirement {
    /// Who retired it (worker id).
    pub by: String,
    /// When (ms).
    pub at: i64,
    /// The household kept in its place, when it was a duplicate.
    pub duplicate_of: Option<String>,
    /// Why.
    pub reason: String,
}

/// A field-level edit of a household. `null`/`nil`/`None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct HouseholdUpdate {
    /// New head of household.
    #[uniffi(default)]
    pub head: Option<String>,
    /// New phone.
    #[uniffi(default)]
    pub phone: Option<String>,
    /// New address.
    #[uniffi(default)]
    pub address: Option<Address>,
    /// Replace the member list.
    #[uniffi(default)]
    pub members: Option<Vec<Member>>,
    /// Tags to add.
    #[uniffi(default)]
    pub add_tags: Vec<String>,
    /// Tags to remove.
    #[uniffi(default)]
    pub remove_tags: Vec<String>,
    /// Contact people to add.
    #[uniffi(default)]
    pub add_contacts: Vec<String>,
    /// Contact people to remove.
    #[uniffi(default)]
    pub remove_contacts: Vec<String>,
}

/// Household fields that can hold concurrent values after two offline edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum HouseholdField {
    /// Head of household.
    Head,
    /// Phone.
    Phone,
    /// Address.
    Address,
    /// Member list.
    Members,
    /// Tier (红/黄/绿); every change, and the choice that settles a conflict, stays in
    /// the tier history.
    Tier,
}

/// One value of a conflicted field, to show and to choose from.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum FieldValue {
    /// A value of `head` or `phone`.
    Text {
        /// The text.
        value: String,
    },
    /// A value of `address`.
    Place {
        /// The address.
        value: Address,
    },
    /// A value of `members`.
    People {
        /// The member list.
        value: Vec<Member>,
    },
    /// A value of `tier`: the household's colour.
    Colour {
        /// The tier.
        value: Tier,
    },
}

/// A household field that holds concurrent values after a merge; settle it with
/// `resolveConflict(id, field, choice)`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldConflict {
    /// Which field.
    pub field: HouseholdField,
    /// Every value, in an order all devices share; `choice` indexes this list.
    pub values: Vec<FieldValue>,
}

/// What a household list shows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HouseholdSummary {
    /// Household id.
    pub id: String,
    /// Grid path.
    pub grid: String,
    /// Head of household.
    pub head: String,
    /// Current tier.
    pub tier: Tier,
    /// Address.
    pub address: Address,
    /// Tags.
    pub tags: Vec<String>,
    /// Contact people.
    pub contacts: Vec<String>,
    /// When the household was registered (ms).
    pub registered_at: i64,
}

/// How a visit was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum VisitMode {
    /// 入户走访: at the door.
    DoorToDoor,
    /// 电话: by phone.
    Phone,
    /// 院落会: at a courtyard meeting.
    CourtyardMeeting,
}

/// Something to do after a visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FollowUp {
    /// What to do.
    pub text: String,
    /// By when (ms).
    pub due: i64,
    /// Done yet.
    #[uniffi(default = false)]
    pub done: bool,
}

/// A WGS-84 point.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GeoPoint {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// What the app supplies to log a visit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewVisit {
    /// The household visited (`h-…`). Who visited is the worker the handset writes as.
    pub household: String,
    /// When (ms).
    pub at: i64,
    /// How.
    pub mode: VisitMode,
    /// The diary entry (typically 150-300 characters).
    pub notes: String,
    /// Problems found.
    #[uniffi(default)]
    pub findings: Vec<String>,
    /// Things to follow up.
    #[uniffi(default)]
    pub follow_ups: Vec<FollowUp>,
    /// Where, if the handset knew.
    #[uniffi(default)]
    pub geo: Option<GeoPoint>,
}

/// A visit as read back.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Visit {
    /// Its id (`v-…`).
    pub id: String,
    /// The household's grid path.
    pub grid: String,
    /// The household visited.
    pub household: String,
    /// Who visited.
    pub worker: String,
    /// When (ms).
    pub at: i64,
    /// How.
    pub mode: VisitMode,
    /// The diary entry.
    pub notes: String,
    /// Problems found.
    pub findings: Vec<String>,
    /// Follow-ups with their current done state.
    pub follow_ups: Vec<FollowUp>,
    /// Where, if known.
    pub geo: Option<GeoPoint>,
}

/// What a visit list shows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitSummary {
    /// Visit id.
    pub id: String,
    /// Household visited.
    pub household: String,
    /// Who visited.
    pub worker: String,
    /// When (ms).
    pub at: i64,
    /// How.
    pub mode: VisitMode,
    /// Follow-ups not done yet.
    pub open_follow_ups: u32,
}

/// A household that is due (or overdue) for a visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DueVisit {
    /// The household.
    pub household: String,
    /// Head of household, for the list.
    pub head: String,
    /// Tier.
    pub tier: Tier,
    /// Last visit (ms), if any.
    pub last_visit: Option<i64>,
    /// When the next visit is due (ms; the registration time when never visited).
    pub due_at: i64,
    /// Whole days past due (0 when due today or later within the horizon).
    pub days_overdue: i64,
    /// The household's earliest open follow-up due within the horizon, when one is.
    pub follow_up: Option<OpenFollowUp>,
}

/// A follow-up a visit planned that is not done yet.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OpenFollowUp {
    /// The visit that planned it.
    pub visit: String,
    /// Its number among the visit's follow-ups, from 0 (as `setFollowUpDone` takes it).
    pub index: u32,
    /// What to do.
    pub text: String,
    /// By when (ms).
    pub due: i64,
}
