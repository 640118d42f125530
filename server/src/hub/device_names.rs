//! Devices by name: `device_names  name \0 device id → ()`, one entry per device ever
//! enrolled (names never change), so enrolling, and finding a device by its name, read the
//! few devices of that name instead of every device (a county enrolls tens of thousands).
//! Stores from before the index get it built once, at open.

use gridsync_core::error::Result;
use gridsync_core::store::{Batch, Scan, Store, for_each_page};

use super::devices::{Device, decode_device};
use super::{DEVICES, Hub};

/// The tree of the index.
pub(crate) const DEVICE_NAMES: &str = "device_names";

fn name_key(name: &str, id: &str) -> Vec<u8> {
    let mut k = name.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

/// Stages the index entry of a newly enrolled device.
pub(crate) fn stage_name(batch: &mut Batch, device: &Device) {
    batch.put(DEVICE_NAMES, name_key(&device.name, &device.id), Vec::new());
}

/// Builds the index over the devices enrolled before it existed, once (an empty index
/// over a store that has devices).
pub(super) fn index_names(store: &dyn Store) -> Result<()> {
    let one = |tree| {
        store.scan(
            tree,
            Scan {
                limit: 1,
                ..Scan::prefix(b"")
            },
        )
    };
    if !one(DEVICE_NAMES)?.is_empty() || one(DEVICES)?.is_empty() {
        return Ok(());
    }
    let mut batch = Batch::new();
    for_each_page(store, DEVICES, 1024, |page| {
        for (_, v) in page {
            stage_name(&mut batch, &decode_device(v)?);
        }
        Ok(())
    })?;
    store.commit(batch)?;
    store.flush()
}

impl Hub {
    /// Every device ever enrolled under `name`.
    pub(crate) fn devices_named(&self, name: &str) -> Result<Vec<Device>> {
        let mut prefix = name.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for (key, _) in self.store.scan(DEVICE_NAMES, Scan::prefix(&prefix))? {
            let id = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            if let Some(d) = self.device(&id)? {
                out.push(d);
            }
        }
        Ok(out)
    }
}
