//! `gridsync household …`: register, list, show, re-tier, edit and retire households and
//! settle fields that two handsets edited at once.

use anyhow::{Result, anyhow, bail};
use clap::{ArgGroup, Args, Subcommand};
use gridsync_core::model::{HouseholdUpdate, Member, NewHousehold, Tier};
use gridsync_core::{GridPath, Replica};

use crate::config::Handset;
use crate::output::{self, Table};
use crate::{Ctx, parse_grid, parse_tier};

mod find;
mod marks;
mod parse;
mod retire;
mod show;

pub use find::resolve;
pub use marks::counts;
use marks::{Marked, Marks};
use parse::{parse_address, parse_field, parse_member};
use show::show;
pub use show::value_text;

/// Household commands.
#[derive(Debug, Subcommand)]
pub enum HouseholdCmd {
    /// Register a household.
    Add(AddArgs),
    /// List households, by grid.
    List {
        /// Only this grid (or subtree).
        #[arg(long, value_parser = parse_grid)]
        grid: Option<GridPath>,
        /// The retired households instead.
        #[arg(long)]
        retired: bool,
    },
    /// Show a household with its visits, tier history and conflicting edits.
    Show {
        /// Household id (or a unique prefix).
        id: String,
        /// How many recent visits to show.
        #[arg(long, default_value_t = 20)]
        visits: usize,
    },
    /// Change a household's tier; the change and its reason are kept forever.
    Tier {
        /// Household id (or a unique prefix).
        id: String,
        /// The new tier: red, yellow or green (红/黄/绿).
        #[arg(long, value_parser = parse_tier)]
        tier: Tier,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Edit a household's head, phone, address, members, tags or contacts.
    Edit(EditArgs),
    /// Settle a field two handsets edited at once by choosing one of its values.
    Resolve {
        /// Household id (or a unique prefix).
        id: String,
        /// The field: head (户主/姓名), phone (电话), address (地址), members (成员) or
        /// tier (等级/分级).
        #[arg(long)]
        field: String,
        /// The value number `household show` listed.
        #[arg(long)]
        choice: usize,
    },
    /// Retire a household registered twice (--duplicate-of the one kept) or gone
    /// (--reason): it leaves the lists and `due`; its visits stay.
    Retire {
        /// Household id (or a unique prefix, or its head's name).
        id: String,
        /// The household kept in its place (id, prefix or head's name).
        #[arg(long, value_name = "KEPT")]
        duplicate_of: Option<String>,
        /// Why (required without --duplicate-of), e.g. "搬走了".
        #[arg(long, default_value = "")]
        reason: String,
        /// List a retired household again.
        #[arg(long)]
        undo: bool,
    },
}

/// `household add`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("where").required(true).args(["address", "rural"])))]
pub struct AddArgs {
    /// The grid (default: the handset's grid).
    #[arg(long, value_parser = parse_grid)]
    grid: Option<GridPath>,
    /// Head of household 户主.
    #[arg(long)]
    head: String,
    /// red 连心户, yellow 关心户 or green 放心户 (红/黄/绿).
    #[arg(long, value_parser = parse_tier)]
    tier: Tier,
    /// Urban address BUILDING/UNIT/ROOM, e.g. "3栋/2单元/501".
    #[arg(long, value_name = "B/U/R")]
    address: Option<String>,
    /// Rural address GROUP/COURTYARD/NUMBER, e.g. "四组/柳树湾/12号".
    #[arg(long, value_name = "G/C/N")]
    rural: Option<String>,
    /// Contact phone.
    #[arg(long, default_value = "")]
    phone: String,
    /// A member NAME:YEAR:RELATION, e.g. 王小明:2012:孙子 (repeatable).
    #[arg(long, value_parser = parse_member)]
    member: Vec<Member>,
    /// A tag such as 留守老人 or 独居 (repeatable).
    #[arg(long)]
    tag: Vec<String>,
    /// A worker id assigned to contact the household (repeatable; default: this handset's worker).
    #[arg(long)]
    contact: Vec<String>,
}

/// `household edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// Household id (or a unique prefix).
    id: String,
    /// New head of household.
    #[arg(long)]
    head: Option<String>,
    /// New phone.
    #[arg(long)]
    phone: Option<String>,
    /// New urban address BUILDING/UNIT/ROOM.
    #[arg(long, conflicts_with = "rural")]
    address: Option<String>,
    /// New rural address GROUP/COURTYARD/NUMBER.
    #[arg(long)]
    rural: Option<String>,
    /// Replace the members with these NAME:YEAR:RELATION (repeatable).
    #[arg(long, value_parser = parse_member)]
    member: Vec<Member>,
    /// Add a tag (repeatable).
    #[arg(long)]
    add_tag: Vec<String>,
    /// Remove a tag (repeatable).
    #[arg(long)]
    remove_tag: Vec<String>,
    /// Add a contact worker (repeatable).
    #[arg(long)]
    add_contact: Vec<String>,
    /// Remove a contact worker (repeatable).
    #[arg(long)]
    remove_contact: Vec<String>,
}

/// Runs a household command.
pub fn run(ctx: &Ctx, cmd: HouseholdCmd) -> Result<()> {
    let hs = ctx.handset()?;
    let r = &hs.replica;
    match cmd {
        HouseholdCmd::Add(a) => add(ctx, &hs, a),
        HouseholdCmd::List { grid, retired } => list(ctx, r, grid.as_ref(), retired),
        HouseholdCmd::Show { id, visits } => show(ctx, r, &resolve(r, &id)?, visits),
        HouseholdCmd::Tier { id, tier, reason } => change_tier(ctx, &hs, &id, tier, &reason),
        HouseholdCmd::Edit(a) => edit(ctx, r, a),
        HouseholdCmd::Resolve { id, field, choice } => settle(ctx, r, &id, &field, choice),
        HouseholdCmd::Retire {
            id,
            duplicate_of,
            reason,
            undo,
        } => retire::retire(ctx, r, &id, duplicate_of.as_deref(), &reason, undo),
    }
}

/// `household add`.
fn add(ctx: &Ctx, hs: &Handset, a: AddArgs) -> Result<()> {
    let r = &hs.replica;
    let contacts = if a.contact.is_empty() {
        vec![hs.worker(None)]
    } else {
        a.contact
    };
    let new = NewHousehold {
        grid: hs.grid(a.grid.as_ref())?,
        address: parse_address(a.address.as_deref(), a.rural.as_deref())?
            .ok_or_else(|| anyhow!("--address or --rural is required"))?,
        head: a.head,
        members: a.member,
        phone: a.phone,
        tier: a.tier,
        tags: a.tag,
        contacts,
    };
    let id = r.register_household(&new, &hs.worker(None))?;
    let h = r.household(&id)?;
    if ctx.json {
        return output::json(&h);
    }
    crate::outln!(
        "registered household {id}: {} ({}), {} in {}",
        h.head,
        output::tier(h.tier),
        output::address(&h.address),
        h.grid
    )?;
    Ok(())
}

/// `household list`.
fn list(ctx: &Ctx, r: &Replica, grid: Option<&GridPath>, retired: bool) -> Result<()> {
    let mut list = if retired {
        r.retired_households(grid)?
    } else {
        r.list_households(grid)?
    };
    list.sort_by(|a, b| {
        (&a.grid, std::cmp::Reverse(a.tier), &a.head).cmp(&(
            &b.grid,
            std::cmp::Reverse(b.tier),
            &b.head,
        ))
    });
    let marked = list
        .iter()
        .map(|h| {
            Ok(Marked {
                household: h,
                marks: Marks::of(r, &h.id)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if ctx.json {
        return output::json(&marked);
    }
    let mut t = Table::new(&[
        "ID", "TIER", "HEAD", "ADDRESS", "GRID", "TAGS", "CONTACTS", "MARKS",
    ]);
    for Marked {
        household: h,
        marks,
    } in &marked
    {
        t.row(vec![
            output::short(&h.id).into(),
            output::tier(h.tier).into(),
            h.head.clone(),
            output::address(&h.address),
            h.grid.segments().last().unwrap_or_default().into(),
            output::clip(&h.tags.join(","), 24),
            h.contacts.join(","),
            marks.cell(),
        ]);
    }
    t.print(if retired {
        "no retired households"
    } else {
        "no households"
    })?;
    if marked.iter().any(|m| !m.marks.conflicts.is_empty()) {
        crate::outln!("⚠ fields edited on two handsets at once: `household show ID` to settle")?;
    }
    if marked.iter().any(|m| m.marks.pending) {
        crate::outln!("↑ changes not yet on the relay: `gridsync sync`")?;
    }
    if marked.iter().any(|m| m.marks.refused) {
        crate::outln!("✗ changes the relay refused: `gridsync refused list`")?;
    }
    Ok(())
}

/// `household tier`.
fn change_tier(ctx: &Ctx, hs: &Handset, id: &str, tier: Tier, reason: &str) -> Result<()> {
    let r = &hs.replica;
    let id = resolve(r, id)?;
    if reason.trim().is_empty() {
        bail!("invalid reason: say why the tier changes (--reason)");
    }
    let before = r.household(&id)?.tier;
    r.change_tier(&id, tier, &hs.worker(None), reason)?;
    let h = r.household(&id)?;
    if ctx.json {
        return output::json(&h);
    }
    crate::outln!(
        "{} {}: tier {} → {}",
        output::short(&id),
        h.head,
        output::tier(before),
        output::tier_long(h.tier)
    )?;
    Ok(())
}

/// `household edit`.
fn edit(ctx: &Ctx, r: &Replica, a: EditArgs) -> Result<()> {
    let id = resolve(r, &a.id)?;
    let update = HouseholdUpdate {
        head: a.head,
        phone: a.phone,
        address: parse_address(a.address.as_deref(), a.rural.as_deref())?,
        members: (!a.member.is_empty()).then_some(a.member),
        add_tags: a.add_tag,
        remove_tags: a.remove_tag,
        add_contacts: a.add_contact,
        remove_contacts: a.remove_contact,
    };
    if update == HouseholdUpdate::default() {
        bail!("nothing to change: pass --head, --phone, --address, --member, --add-tag …");
    }
    r.update_household(&id, &update)?;
    let h = r.household(&id)?;
    if ctx.json {
        return output::json(&h);
    }
    crate::outln!("updated household {} ({})", output::short(&id), h.head)?;
    Ok(())
}

/// `household resolve`: settles a conflicting field.
fn settle(ctx: &Ctx, r: &Replica, id: &str, field: &str, choice: usize) -> Result<()> {
    let id = resolve(r, id)?;
    let f = parse_field(field)?;
    r.resolve_conflict(&id, f, choice)?;
    let h = r.household(&id)?;
    if ctx.json {
        return output::json(&h);
    }
    crate::outln!("{} of {} settled", f.key(), output::short(&id))?;
    Ok(())
}
