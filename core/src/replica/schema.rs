//! The store's schema version, the device identity, and the migration steps that bring an
//! older store up to date. Each step runs in its own commit and bumps the version, so an
//! interrupted migration resumes at the step it stopped in.

use automerge::Automerge;

use super::{DeviceIdentity, ReplicaConfig, outbox};
use crate::error::{Error, Result};
use crate::ids::{DocId, DocKind};
use crate::index::{self, Indexed, decode, encode};
use crate::model::{self, household, visit};
use crate::store::{Batch, Scan, Store, trees};

/// The schema this build writes. Version 1: one document per record, indexes as in
/// [`crate::index`]. Version 2 adds each household's latest visit time (`W`). Version 3
/// drops the outbox's hash index that stores made before the outbox lost it still held.
/// Version 4 keeps changes the relay refused apart from the pending outbox (`r`, `x`
/// entries and the meta count `outbox_refused`; see `replica::refused`): a build that does
/// not know them would lose track of them. Version 5 indexes open follow-ups by due time
/// (`F`) and each household's retirement (in its summary), so a build that does not know
/// them cannot read the index.
pub const SCHEMA_VERSION: u32 = 5;

pub(super) const VERSION_KEY: &[u8] = b"schema_version";
const IDENTITY_KEY: &[u8] = b"device";

/// One migration step, from `version - 1` to `version`.
struct Step {
    version: u32,
    name: &'static str,
    run: fn(&dyn Store, &ReplicaConfig) -> Result<()>,
}

/// Version 0 is a store with documents but no version (written before versions were kept,
/// or whose index was lost): step 1 rebuilds every index from the documents.
const STEPS: &[Step] = &[
    Step {
        version: 1,
        name: "rebuild indexes from documents",
        run: rebuild_indexes,
    },
    Step {
        version: 2,
        name: "index each household's latest visit",
        run: |store, _| index::last_visit::rebuild(store),
    },
    Step {
        version: 3,
        name: "drop the outbox's legacy hash index",
        run: |store, _| outbox::drop_legacy_hash_index(store),
    },
    Step {
        version: 4,
        name: "count refused changes apart from the pending outbox",
        run: |store, _| outbox::read_pending(store).map(|_| ()),
    },
    Step {
        version: 5,
        name: "index open follow-ups and retired households",
        run: rebuild_indexes,
    },
];

pub(super) fn read_version(store: &dyn Store) -> Result<Option<u32>> {
    store
        .get(trees::META, VERSION_KEY)?
        .map(|v| {
            v.as_slice()
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| Error::corrupt("store", "schema version is not 4 bytes"))
        })
        .transpose()
}

/// Checks the schema, runs pending migrations, and returns the device identity (made on
/// first open).
pub(super) fn prepare(
    store: &dyn Store,
    device: &str,
    config: &ReplicaConfig,
) -> Result<DeviceIdentity> {
    let identity = match store.get(trees::META, IDENTITY_KEY)? {
        Some(v) => {
            let id: DeviceIdentity = decode(&v)?;
            if id.device != device {
                return Err(Error::invalid(
                    "device",
                    format!(
                        "this store belongs to device {:?}, not {device:?}",
                        id.device
                    ),
                ));
            }
            id
        }
        None => {
            let id = DeviceIdentity {
                device: device.to_string(),
                actor: uuid::Uuid::new_v4().as_bytes().to_vec(),
            };
            let mut b = Batch::new();
            b.put(trees::META, IDENTITY_KEY.to_vec(), encode(&id)?);
            store.commit(b)?;
            id
        }
    };
    let has_docs = !store
        .scan(
            trees::DOCS,
            Scan {
                prefix: b"",
                after: None,
                limit: 1,
                reverse: false,
            },
        )?
        .is_empty();
    let version = match read_version(store)? {
        Some(v) => v,
        None if !has_docs => {
            set_version(store, SCHEMA_VERSION)?;
            SCHEMA_VERSION
        }
        None => 0,
    };
    if version > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    for step in STEPS.iter().filter(|s| s.version > version) {
        tracing::info!(to = step.version, step = step.name, "migrating store");
        (step.run)(store, config)?;
        set_version(store, step.version)?;
    }
    Ok(identity)
}

pub(super) fn set_version(store: &dyn Store, v: u32) -> Result<()> {
    let mut b = Batch::new();
    b.put(trees::META, VERSION_KEY.to_vec(), v.to_be_bytes().to_vec());
    store.commit(b)
}

/// Rebuilds the index tree from every stored document, a page at a time.
fn rebuild_indexes(store: &dyn Store, config: &ReplicaConfig) -> Result<()> {
    crate::store::for_each_page(store, trees::DOCS, 256, |page| {
        let mut batch = Batch::new();
        for (k, v) in page {
            let id = DocId::parse(&String::from_utf8_lossy(k))?;
            let doc =
                Automerge::load(v).map_err(|e| Error::corrupt(format!("document {id}"), e))?;
            let entries = match id.kind() {
                DocKind::Household => {
                    household::read(&doc).and_then(|h| index::entries(Indexed::Household(&h)))
                }
                DocKind::Visit => {
                    visit::read(&doc).and_then(|v| index::entries(Indexed::Visit(&v)))
                }
                DocKind::Case => model::case::read(&doc, &config.triage)
                    .and_then(|c| index::entries(Indexed::Case(&c))),
            };
            match entries {
                Ok(e) => index::replace(store, &mut batch, &id, e)?,
                Err(err) => tracing::warn!(doc = %id, %err, "document left out of the index"),
            }
        }
        store.commit(batch)
    })
}

/// Drops the schema version and every index entry, leaving a store as an old build left it.
#[cfg(any(test, feature = "testing"))]
pub fn forget_version_and_index(store: &dyn Store) -> Result<()> {
    let mut b = Batch::new();
    b.delete(trees::META, VERSION_KEY.to_vec());
    for (k, _) in store.scan(trees::INDEX, Scan::prefix(b""))? {
        b.delete(trees::INDEX, k);
    }
    store.commit(b)
}

/// Leaves a store as a version 1 build wrote it: no `W` (latest visit) entries.
#[cfg(any(test, feature = "testing"))]
pub fn downgrade_to_version_1(store: &dyn Store) -> Result<()> {
    let mut b = Batch::new();
    b.put(
        trees::META,
        VERSION_KEY.to_vec(),
        1u32.to_be_bytes().to_vec(),
    );
    for (k, _) in store.scan(trees::INDEX, Scan::prefix(index::last_visit::PREFIX))? {
        b.delete(trees::INDEX, k);
    }
    store.commit(b)
}
