//! Sets: a sorted intset while every member is an integer and the set is
//! small, a hash table otherwise (Redis 7.0 has no listpack sets yet).

use super::{IndexSet, Sds, Thresholds};
use crate::util::{parse_i64_strict, rand_below};

#[derive(Debug)]
pub enum Set {
    Intset(Vec<i64>),
    Table(IndexSet<Sds>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Intset(Vec::new())
    }
}

impl Set {
    /// An empty set of the encoding Redis picks for its first member.
    pub fn for_member(first: &[u8], t: &Thresholds) -> Set {
        if parse_i64_strict(first).is_some() && t.set_max_intset_entries > 0 {
            Set::Intset(Vec::new())
        } else {
            Set::Table(IndexSet::default())
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Intset(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Intset(v) => v.len(),
            Set::Table(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn convert_to_table(&mut self) {
        if let Set::Intset(v) = self {
            let mut t = IndexSet::default();
            t.reserve(v.len());
            for n in v.iter() {
                t.insert(Sds::from_slice(n.to_string().as_bytes()));
            }
            *self = Set::Table(t);
        }
    }

    pub fn add(&mut self, m: &[u8], t: &Thresholds) -> bool {
        if let Set::Intset(v) = self {
            match parse_i64_strict(m) {
                Some(n) => match v.binary_search(&n) {
                    Ok(_) => return false,
                    Err(pos) => {
                        v.insert(pos, n);
                        if v.len() > t.set_max_intset_entries {
                            self.convert_to_table();
                        }
                        return true;
                    }
                },
                None => self.convert_to_table(),
            }
        }
        match self {
            Set::Table(s) => s.insert(Sds::from_slice(m)),
            Set::Intset(_) => unreachable!("converted above"),
        }
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Intset(v) => match parse_i64_strict(m).map(|n| v.binary_search(&n)) {
                Some(Ok(pos)) => {
                    v.remove(pos);
                    true
                }
                _ => false,
            },
            Set::Table(s) => s.swap_remove(m),
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Intset(v) => parse_i64_strict(m).is_some_and(|n| v.binary_search(&n).is_ok()),
            Set::Table(s) => s.contains(m),
        }
    }

    /// Members in storage order (sorted for intsets, as Redis returns them).
    pub fn members(&self) -> Vec<Sds> {
        match self {
            Set::Intset(v) => v
                .iter()
                .map(|n| Sds::from_slice(n.to_string().as_bytes()))
                .collect(),
            Set::Table(s) => s.iter().cloned().collect(),
        }
    }

    /// The member at storage position `i` (for random picks and scans).
    pub fn at(&self, i: usize) -> Sds {
        match self {
            Set::Intset(v) => Sds::from_slice(v[i].to_string().as_bytes()),
            Set::Table(s) => s[i].clone(),
        }
    }

    pub fn random(&self) -> Option<Sds> {
        if self.is_empty() {
            None
        } else {
            Some(self.at(rand_below(self.len())))
        }
    }
}
