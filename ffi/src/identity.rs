//! Who the handset writes as: the relay's grants (received at every contact) and the
//! identity an app sets before the first contact.

use gridsync_core::model as cm;

use crate::cases::Role;
use crate::convert;
use crate::error::Result;
use crate::replica::GridsyncReplica;

/// What the device's enrollment grants: the worker it writes as, the roles it may act in
/// (the first is the default) and the grid subtrees it may read and write.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Grants {
    /// The worker id: the author of every visit, tier change and case action.
    pub worker: String,
    /// The worker's name as shown.
    pub display_name: String,
    /// The roles, the default first.
    pub roles: Vec<Role>,
    /// The grid subtrees.
    pub scopes: Vec<String>,
}

impl From<cm::Grants> for Grants {
    fn from(g: cm::Grants) -> Self {
        Grants {
            worker: g.worker,
            display_name: g.display_name,
            roles: g.roles.into_iter().map(Role::from).collect(),
            scopes: g
                .scopes
                .into_iter()
                .map(|s| s.as_str().to_string())
                .collect(),
        }
    }
}

#[uniffi::export]
impl GridsyncReplica {
    /// The grants the relay sent at the last contact; `None` before the first.
    pub fn grants(&self) -> Result<Option<Grants>> {
        Ok(self.core().grants()?.map(Grants::from))
    }

    /// Who this handset writes as until the relay has sent its grants: one worker, in
    /// `roles` (the first the default), in one grid (what a worker is told at setup).
    /// Writes outside that grid, or in another role, fail.
    pub fn set_setup_identity(
        &self,
        worker: String,
        display_name: String,
        roles: Vec<Role>,
        grid: String,
    ) -> Result<()> {
        let grid = convert::grid("grid", &grid)?;
        let roles: Vec<cm::Role> = roles.into_iter().map(Into::into).collect();
        Ok(self
            .core()
            .set_setup_identity(&worker, &display_name, &roles, &grid)?)
    }
}
