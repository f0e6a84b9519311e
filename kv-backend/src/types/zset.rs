//! Sorted sets: a member map plus a skip list ordered by (score, member),
//! both in `SkipList`. `listpack` only tracks which encoding Redis would report.

use super::skiplist::{NodeId, SkipList};
use super::{Sds, Thresholds};

#[derive(Clone, Debug, Default)]
pub struct ZSet {
    pub list: SkipList,
    pub listpack: bool,
}

/// One end of a score range: value and whether it is exclusive.
#[derive(Clone, Copy, Debug)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// One end of a lexical range.
#[derive(Clone, Debug)]
pub enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

impl ScoreBound {
    pub fn parse(s: &[u8]) -> Option<ScoreBound> {
        let (exclusive, rest) = if s.first() == Some(&b'(') {
            (true, &s[1..])
        } else {
            (false, s)
        };
        crate::util::parse_f64(rest).map(|value| ScoreBound { value, exclusive })
    }
    /// Does `score` lie at or past this bound taken as a minimum?
    pub fn min_ok(&self, score: f64) -> bool {
        if self.exclusive {
            score > self.value
        } else {
            score >= self.value
        }
    }
    pub fn max_ok(&self, score: f64) -> bool {
        if self.exclusive {
            score < self.value
        } else {
            score <= self.value
        }
    }
}

impl LexBound {
    pub fn parse(s: &[u8]) -> Option<LexBound> {
        match s.first()? {
            b'-' if s.len() == 1 => Some(LexBound::NegInf),
            b'+' if s.len() == 1 => Some(LexBound::PosInf),
            b'[' => Some(LexBound::Incl(s[1..].to_vec())),
            b'(' => Some(LexBound::Excl(s[1..].to_vec())),
            _ => None,
        }
    }
    pub fn min_ok(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(v) => m >= v.as_slice(),
            LexBound::Excl(v) => m > v.as_slice(),
        }
    }
    pub fn max_ok(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(v) => m <= v.as_slice(),
            LexBound::Excl(v) => m < v.as_slice(),
        }
    }
}

impl ZSet {
    pub fn new(first_member_len: usize, t: &Thresholds) -> Self {
        ZSet {
            list: SkipList::new(),
            listpack: t.zset_max_listpack_entries > 0
                && first_member_len <= t.zset_max_listpack_value,
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.list.score_of(m)
    }

    /// Inserts or moves a member; returns true if it was new.
    pub fn set(&mut self, m: &[u8], score: f64, t: &Thresholds) -> bool {
        self.upsert(m, t, |_| Some(score))
    }

    /// One lookup for read-modify-write: `decide` gets the member's score
    /// (None if absent) and returns its new score, or None to leave it.
    /// Returns true if the member was added.
    pub fn upsert(
        &mut self,
        m: &[u8],
        t: &Thresholds,
        decide: impl FnOnce(Option<f64>) -> Option<f64>,
    ) -> bool {
        let added = self.list.upsert(m, decide);
        // As Redis' zsetAdd: only adding a member can outgrow a listpack.
        if added
            && (m.len() > t.zset_max_listpack_value
                || self.list.len() > t.zset_max_listpack_entries)
        {
            self.listpack = false;
        }
        added
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.list.remove(m).is_some()
    }

    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        self.list.rank(m)
    }

    /// Node handles in [first, last] rank order, ascending or descending.
    pub fn walk(&self, from: NodeId, count: usize, rev: bool) -> Vec<(Sds, f64)> {
        let mut out = Vec::with_capacity(count.min(1024));
        let mut cur = Some(from);
        while let Some(id) = cur {
            if out.len() >= count {
                break;
            }
            out.push((self.list.member(id).clone(), self.list.score(id)));
            cur = if rev {
                self.list.prev(id)
            } else {
                self.list.next(id)
            };
        }
        out
    }

    /// Elements with ranks start..=end (0-based, already clamped).
    pub fn range_by_rank(&self, start: usize, end: usize, rev: bool) -> Vec<(Sds, f64)> {
        let len = self.len();
        let first = if rev { len - 1 - start } else { start };
        match self.list.by_rank(first) {
            Some(id) => self.walk(id, end - start + 1, rev),
            None => Vec::new(),
        }
    }

    /// First and last node inside a score range.
    pub fn score_span(&self, min: ScoreBound, max: ScoreBound) -> Option<(NodeId, NodeId)> {
        let first = self.list.first_where(|p| min.min_ok(p.score))?;
        let last = self.list.last_where(|p| max.max_ok(p.score))?;
        if !max.max_ok(self.list.score(first)) || !min.min_ok(self.list.score(last)) {
            return None;
        }
        Some((first, last))
    }

    pub fn lex_span(&self, min: &LexBound, max: &LexBound) -> Option<(NodeId, NodeId)> {
        let first = self.list.first_where(|p| min.min_ok(p.member()))?;
        let last = self.list.last_where(|p| max.max_ok(p.member()))?;
        if !max.max_ok(self.list.member(first)) || !min.min_ok(self.list.member(last)) {
            return None;
        }
        Some((first, last))
    }

    /// Number of elements from node `a` to node `b` inclusive (a before b).
    pub fn count_between(&self, a: NodeId, b: NodeId) -> usize {
        self.list.rank_of(b) + 1 - self.list.rank_of(a)
    }
}
