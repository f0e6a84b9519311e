//! Hashes: insertion-ordered while small (Redis' listpack keeps insertion
//! order, and clients see it), a hash table past the thresholds.

use super::{IndexMap, Sds, Thresholds};

#[derive(Debug, Default)]
pub struct Hash {
    pub map: IndexMap<Sds, Sds>,
    /// True while Redis would still use a listpack.
    pub listpack: bool,
}

impl Hash {
    pub fn new() -> Self {
        Hash {
            map: IndexMap::default(),
            listpack: true,
        }
    }

    /// Sets a field; returns true if it is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], t: &Thresholds) -> bool {
        if self.listpack
            && (field.len() > t.hash_max_listpack_value || value.len() > t.hash_max_listpack_value)
        {
            self.listpack = false;
        }
        let new = self
            .map
            .insert(Sds::from_slice(field), Sds::from_slice(value))
            .is_none();
        if self.listpack && self.map.len() > t.hash_max_listpack_entries {
            self.listpack = false;
        }
        new
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        if self.listpack {
            self.map.shift_remove(field).is_some()
        } else {
            self.map.swap_remove(field).is_some()
        }
    }
}
