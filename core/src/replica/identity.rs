//! Who this handset writes as: the [`Grants`] the relay sent in its last `Welcome`, or,
//! before any contact, the identity the handset was set up with (a worker, a role and one
//! grid, given at `init`). Every write takes its author from here, picks its role among
//! the identity's, and is held to the identity's grids and to the relay's checks at the
//! source ([`Replica::admit_local`]).

use automerge::Automerge;

use super::Replica;
use crate::error::{Error, Result};
use crate::ids::{DocId, DocKind, GridPath};
use crate::index::{decode, encode};
use crate::model::admit::{Admission, admit};
use crate::model::{self, Grants, Role};
use crate::store::{Batch, trees};

/// Meta key of the grants the relay sent last.
const GRANTS_KEY: &[u8] = b"grants";
/// Meta key of the identity given at setup, used until the relay sends grants.
const SETUP_KEY: &[u8] = b"setup_identity";

/// The identity writes use, as cached: `None` for a store with none.
pub(super) type Acting = Option<(Grants, IdentitySource)>;

/// Where the identity a write uses came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// The relay's grants, as of the last contact.
    Relay,
    /// Given at setup; the relay has not been met yet and may refuse what is written.
    Setup,
}

impl Replica {
    /// The grants the relay sent at the last contact, if it has been met.
    pub fn grants(&self) -> Result<Option<Grants>> {
        self.store
            .get(trees::META, GRANTS_KEY)?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Stores the grants the relay sent (they replace earlier ones and the setup identity),
    /// with no rescope followed: [`Replica::take_grants`] is what a sync session calls.
    pub fn store_grants(&self, grants: &Grants) -> Result<()> {
        if self.grants()?.as_ref() == Some(grants) {
            return Ok(());
        }
        let mut b = Batch::new();
        self.stage_grants(&mut b, grants)?;
        self.store.commit(b)?;
        Ok(())
    }

    /// Stages the relay's grants; the identity cached for writing is forgotten, so the next
    /// write reads them (a write meanwhile still sees the earlier ones).
    pub(super) fn stage_grants(&self, b: &mut Batch, grants: &Grants) -> Result<()> {
        b.put(trees::META, GRANTS_KEY.to_vec(), encode(grants)?);
        self.forget_acting();
        tracing::info!(worker = %grants.worker, scopes = grants.scopes.len(), "grants stored");
        Ok(())
    }

    /// Sets who this handset writes as before it has met the relay: one worker, in the
    /// roles given (the first the default), in one grid. Ignored for writing once the
    /// relay's grants are stored.
    pub fn set_setup_identity(
        &self,
        worker: &str,
        display_name: &str,
        roles: &[Role],
        grid: &GridPath,
    ) -> Result<()> {
        let setup = Grants {
            worker: worker.trim().to_string(),
            display_name: display_name.trim().to_string(),
            roles: roles.to_vec(),
            scopes: vec![grid.clone()],
        };
        setup.validate()?;
        if let Some(v) = self.store.get(trees::META, SETUP_KEY)?
            && decode::<Grants>(&v)? == setup
        {
            return Ok(());
        }
        let mut b = Batch::new();
        b.put(trees::META, SETUP_KEY.to_vec(), encode(&setup)?);
        self.store.commit(b)?;
        self.forget_acting();
        Ok(())
    }

    /// The identity writes use and where it came from: the relay's grants, else the setup
    /// identity; [`Error::NoIdentity`] when there is neither.
    pub fn acting_as(&self) -> Result<(Grants, IdentitySource)> {
        self.cached_acting()?.ok_or(Error::NoIdentity)
    }

    /// The identity from the cache, read from the store the first time.
    fn cached_acting(&self) -> Result<Acting> {
        let mut cached = self
            .acting
            .lock()
            .map_err(|_| Error::Storage("replica identity lock poisoned".into()))?;
        if let Some(acting) = cached.as_ref() {
            return Ok(acting.clone());
        }
        let acting = match self.grants()? {
            Some(g) => Some((g, IdentitySource::Relay)),
            None => match self.store.get(trees::META, SETUP_KEY)? {
                Some(v) => Some((decode(&v)?, IdentitySource::Setup)),
                None => None,
            },
        };
        *cached = Some(acting.clone());
        Ok(acting)
    }

    fn forget_acting(&self) {
        if let Ok(mut cached) = self.acting.lock() {
            *cached = None;
        }
    }

    /// The identity writes use, `None` for a store that has none at all (opened by an app
    /// that never set one, before any contact): such a store writes the authors and
    /// roles the app gives, unchecked here; the relay still checks every change.
    pub(crate) fn bound_identity(&self) -> Result<Option<Grants>> {
        Ok(self.cached_acting()?.map(|(g, _)| g))
    }

    /// Holds a local change (`before` → `after` of document `id`) to the identity: its grid
    /// inside the scopes, and [`admit`] (the relay's own check), so what the relay would
    /// refuse fails here, at the call, as [`Error::NotPermitted`].
    pub(crate) fn admit_local(
        &self,
        id: &DocId,
        before: &Automerge,
        after: &Automerge,
    ) -> Result<()> {
        let Some(grants) = self.bound_identity()? else {
            return Ok(());
        };
        let grid = model::grid_of(after)?
            .ok_or_else(|| Error::corrupt(format!("document {id}"), "it has no grid"))?;
        grants.check_grid(&grid)?;
        let grid_of = |d: &DocId| self.record_grid(d);
        let admission = Admission {
            grants: &grants,
            now: self.now(),
            grid_of: &grid_of,
        };
        admit(id, before, after, &admission).map_err(|e| Error::NotPermitted(e.to_string()))
    }

    /// The grid of a record this store holds, read without the replica's lock (households
    /// from the index, other records from their stored document).
    pub(super) fn record_grid(&self, id: &DocId) -> Option<GridPath> {
        if id.kind() == DocKind::Household {
            return self.household_grid(id).ok();
        }
        let bytes = self.store.get(trees::DOCS, id.as_str().as_bytes()).ok()??;
        let doc = Automerge::load(&bytes).ok()?;
        model::grid_of(&doc).ok()?
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::replica::ReplicaConfig;
    use crate::store::{MemoryStore, Store};

    #[test]
    fn relay_grants_take_over_from_the_setup_identity() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let r = Replica::open_with(store, "dev-1", ReplicaConfig::default()).unwrap();
        assert_eq!(r.acting_as().unwrap_err(), Error::NoIdentity);
        let g1 = GridPath::parse("c1/g1").unwrap();
        r.set_setup_identity("w-1", "王芳", &[Role::GridWorker], &g1)
            .unwrap();
        let (setup, source) = r.acting_as().unwrap();
        assert_eq!(source, IdentitySource::Setup);
        assert_eq!(setup.scopes, vec![g1.clone()]);
        assert!(
            setup
                .check_grid(&GridPath::parse("c1/g10").unwrap())
                .is_err()
        );
        let relay = Grants {
            worker: "w-1".into(),
            display_name: "王芳".into(),
            roles: vec![Role::GridWorker],
            scopes: vec![GridPath::parse("c1/g2").unwrap()],
        };
        r.store_grants(&relay).unwrap();
        let (now, source) = r.acting_as().unwrap();
        assert_eq!((now, source), (relay, IdentitySource::Relay));
        assert!(matches!(
            r.acting_as().unwrap().0.check_grid(&g1),
            Err(Error::NotPermitted(_))
        ));
    }
}
