//! Who a handset is and what it may do: the grants of its enrollment. The relay binds a
//! device to one worker, a display name, roles and grid subtrees (`gridsync-relay device
//! add`), sends them in every `Welcome`, and checks every pushed change against them; the
//! handset stores them and writes as that worker, in those roles and grids only.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::GridPath;

/// Who takes a case action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// 网格员.
    GridWorker,
    /// 网格长.
    GridLeader,
    /// Community staff 社区工作人员.
    CommunityStaff,
    /// Street staff 街道工作人员.
    StreetStaff,
    /// Democratic supervisor 民主监督员: evaluates how matters were handled.
    Supervisor,
}

impl Role {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::GridWorker => "grid_worker",
            Role::GridLeader => "grid_leader",
            Role::CommunityStaff => "community_staff",
            Role::StreetStaff => "street_staff",
            Role::Supervisor => "supervisor",
        }
    }

    /// Parses [`Role::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "grid_worker" => Some(Role::GridWorker),
            "grid_leader" => Some(Role::GridLeader),
            "community_staff" => Some(Role::CommunityStaff),
            "street_staff" => Some(Role::StreetStaff),
            "supervisor" => Some(Role::Supervisor),
            _ => None,
        }
    }

    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::GridWorker,
        Role::GridLeader,
        Role::CommunityStaff,
        Role::StreetStaff,
        Role::Supervisor,
    ];

    /// Parses a role as a person types it: [`Role::as_str`] (with `-` for `_`), a short
    /// English form or the Chinese title (网格员, 网格长, 社区工作人员, 街道工作人员, 民主监督员).
    pub fn from_user(s: &str) -> std::result::Result<Self, String> {
        let t = s.trim().replace('-', "_");
        Role::parse(&t)
            .or(match t.as_str() {
                "网格员" | "worker" => Some(Role::GridWorker),
                "网格长" | "leader" => Some(Role::GridLeader),
                "社区" | "社区工作人员" | "staff" => Some(Role::CommunityStaff),
                "街道" | "街道工作人员" => Some(Role::StreetStaff),
                "监督员" | "民主监督员" => Some(Role::Supervisor),
                _ => None,
            })
            .ok_or_else(|| {
                format!(
                    "unknown role {s:?}: use grid_worker, grid_leader, community_staff, street_staff or supervisor"
                )
            })
    }
}

/// What a device may do, as its enrollment says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// The worker id the device writes as (author of visits, tier changes, case actions).
    pub worker: String,
    /// The worker's display name (王芳).
    pub display_name: String,
    /// The roles the worker may act in, the first being the default.
    pub roles: Vec<Role>,
    /// The grid subtrees the device may read and write.
    pub scopes: Vec<GridPath>,
}

impl Grants {
    /// Checks grants before an enrollment stores them: a worker id, at least one role
    /// (none repeated) and at least one scope.
    pub fn validate(&self) -> Result<()> {
        super::validate::short_text("worker", &self.worker, 64)?;
        super::validate::name("display_name", &self.display_name)?;
        if self.roles.is_empty() {
            return Err(Error::invalid(
                "role",
                "at least one role (--role) is required",
            ));
        }
        if let Some(r) = self
            .roles
            .iter()
            .enumerate()
            .find(|(i, r)| self.roles[..*i].contains(r))
        {
            return Err(Error::invalid(
                "role",
                format!("{} is given twice", r.1.as_str()),
            ));
        }
        if self.scopes.is_empty() {
            return Err(Error::invalid(
                "scope",
                "at least one grid path (--scope) is required",
            ));
        }
        Ok(())
    }

    /// True when `grid` lies within one of the granted scopes (`a/g1` covers `a/g1/x`,
    /// never `a/g10`).
    pub fn covers(&self, grid: &GridPath) -> bool {
        self.scopes.iter().any(|scope| grid.is_within(scope))
    }

    /// Whether the worker holds `role`.
    pub fn holds(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The role to act in: `wanted` when the worker holds it, else the default (first)
    /// role when `wanted` is `None`. A role the worker lacks is [`Error::NotPermitted`].
    pub fn role(&self, wanted: Option<Role>) -> Result<Role> {
        match wanted {
            Some(r) if self.holds(r) => Ok(r),
            Some(r) => Err(Error::NotPermitted(format!(
                "this handset's worker {} does not hold the role {} (roles: {})",
                self.worker,
                r.as_str(),
                self.role_names()
            ))),
            None => self
                .roles
                .first()
                .copied()
                .ok_or_else(|| Error::NotPermitted("this handset holds no role".into())),
        }
    }

    /// [`Error::NotPermitted`] unless `grid` is inside the scopes.
    pub fn check_grid(&self, grid: &GridPath) -> Result<()> {
        if self.covers(grid) {
            return Ok(());
        }
        Err(Error::NotPermitted(format!(
            "grid {grid} is outside this handset's grids ({}); nothing was written",
            self.scope_names()
        )))
    }

    /// The roles, comma-separated.
    pub fn role_names(&self) -> String {
        let names: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
        names.join(", ")
    }

    /// The scopes, comma-separated.
    pub fn scope_names(&self) -> String {
        let names: Vec<&str> = self.scopes.iter().map(GridPath::as_str).collect();
        names.join(", ")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn grants() -> Grants {
        Grants {
            worker: "w-1".into(),
            display_name: "王芳".into(),
            roles: vec![Role::GridWorker, Role::GridLeader],
            scopes: vec![GridPath::parse("c1/g1").unwrap()],
        }
    }

    #[test]
    fn scopes_do_not_confuse_prefixes() {
        let g = grants();
        assert!(g.covers(&GridPath::parse("c1/g1").unwrap()));
        assert!(g.covers(&GridPath::parse("c1/g1/b3").unwrap()));
        assert!(!g.covers(&GridPath::parse("c1/g10").unwrap()));
        assert!(!g.covers(&GridPath::parse("c1").unwrap()));
        let e = g
            .check_grid(&GridPath::parse("c1/g10").unwrap())
            .unwrap_err();
        assert!(matches!(e, Error::NotPermitted(_)), "{e}");
    }

    #[test]
    fn a_role_is_picked_among_the_held_ones() {
        let g = grants();
        assert_eq!(g.role(None).unwrap(), Role::GridWorker);
        assert_eq!(g.role(Some(Role::GridLeader)).unwrap(), Role::GridLeader);
        let e = g.role(Some(Role::Supervisor)).unwrap_err();
        assert!(matches!(e, Error::NotPermitted(_)), "{e}");
        assert!(e.to_string().contains("supervisor"), "{e}");
    }

    #[test]
    fn validation_needs_worker_role_and_scope() {
        assert!(grants().validate().is_ok());
        let mut g = grants();
        g.roles.clear();
        assert!(g.validate().is_err());
        let mut g = grants();
        g.roles.push(Role::GridWorker);
        assert!(g.validate().unwrap_err().to_string().contains("twice"));
        let mut g = grants();
        g.scopes.clear();
        assert!(g.validate().is_err());
        let mut g = grants();
        g.worker = " ".into();
        assert!(g.validate().is_err());
    }
}
