//! Value types. Each one is plain data (no locks, no handles), so that it is
//! easy to serialize when persistence comes.

pub mod bloom;
pub mod hash;
pub mod set;
pub mod skiplist;
pub mod zset;

use smallvec::SmallVec;
use std::collections::VecDeque;

/// A byte string that keeps up to 16 bytes inline (keys, small values).
pub type Sds = SmallVec<[u8; 16]>;

pub type FastState = foldhash::fast::RandomState;
pub type IndexMap<K, V> = indexmap::IndexMap<K, V, FastState>;
pub type IndexSet<K> = indexmap::IndexSet<K, FastState>;
pub type HashMap<K, V> = std::collections::HashMap<K, V, FastState>;
pub type HashSet<K> = std::collections::HashSet<K, FastState>;

pub fn sds(b: &[u8]) -> Sds {
    Sds::from_slice(b)
}

/// A stored value. Strings carry their Redis encoding: `Int` for canonical
/// integers, `Embstr` for short strings set whole, `Raw` otherwise.
#[derive(Debug)]
pub enum Value {
    Int(i64),
    Embstr(Sds),
    Raw(Sds),
    List(Box<VecDeque<Sds>>),
    Hash(Box<hash::Hash>),
    Set(Box<set::Set>),
    ZSet(Box<zset::ZSet>),
    Bloom(Box<bloom::ScalableBloom>),
}

/// Longest string Redis stores as `embstr`.
pub const EMBSTR_MAX: usize = 44;

impl Value {
    /// Builds a string value with the encoding Redis' `tryObjectEncoding` picks.
    pub fn string(b: &[u8]) -> Value {
        if b.len() <= 20 {
            if let Some(n) = crate::util::parse_i64_strict(b) {
                return Value::Int(n);
            }
        }
        if b.len() <= EMBSTR_MAX {
            Value::Embstr(sds(b))
        } else {
            Value::Raw(sds(b))
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) | Value::Embstr(_) | Value::Raw(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Bloom(_) => "MBbloom--",
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Embstr(_) => "embstr",
            Value::Raw(_) => "raw",
            Value::List(_) => "quicklist",
            Value::Hash(h) => {
                if h.listpack {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => {
                if z.listpack {
                    "listpack"
                } else {
                    "skiplist"
                }
            }
            Value::Bloom(_) => "raw",
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Embstr(_) | Value::Raw(_))
    }

    /// The bytes of a string value (integers are formatted).
    pub fn string_bytes(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        match self {
            Value::Int(n) => Some(std::borrow::Cow::Owned(n.to_string().into_bytes())),
            Value::Embstr(s) | Value::Raw(s) => Some(std::borrow::Cow::Borrowed(s.as_slice())),
            _ => None,
        }
    }

    /// A deep copy in the same encoding, as COPY makes (Redis' dup functions
    /// keep the source's encoding).
    pub fn duplicate(&self) -> Value {
        match self {
            Value::Int(n) => Value::Int(*n),
            Value::Embstr(s) => Value::Embstr(s.clone()),
            Value::Raw(s) => Value::Raw(s.clone()),
            Value::List(l) => Value::List(l.clone()),
            Value::Hash(h) => Value::Hash(Box::new(hash::Hash {
                map: h.map.clone(),
                listpack: h.listpack,
            })),
            Value::Set(s) => Value::Set(Box::new(match s.as_ref() {
                set::Set::Intset(v) => set::Set::Intset(v.clone()),
                set::Set::Table(t) => set::Set::Table(t.clone()),
            })),
            Value::ZSet(z) => Value::ZSet(z.clone()),
            Value::Bloom(b) => Value::Bloom(b.clone()),
        }
    }

    /// Number of elements (1 for strings), used by eviction/lazy-free stats.
    pub fn element_count(&self) -> usize {
        match self {
            Value::List(l) => l.len(),
            Value::Hash(h) => h.map.len(),
            Value::Set(s) => s.len(),
            Value::ZSet(z) => z.len(),
            _ => 1,
        }
    }
}

/// Encoding thresholds (Redis 7.0 defaults, changed by CONFIG SET).
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
        }
    }
}
