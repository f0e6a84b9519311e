//! The index behind a sorted set: a member map plus a skip list ordered by
//! (score, member) with spans, as Redis' zset is a dict plus a zskiplist:
//! O(1) score lookup, O(log n) insert, delete, rank and access by rank.
//!
//! The layout is chosen for what a descent touches:
//! - Each skip-list node is one variable-length record in a single `Vec<u64>`
//!   arena (as Redis allocates a node and its levels together): a header word
//!   (member index, backward link), then two words per level: the forward
//!   node's score, cached so that a failed comparison never touches the
//!   forward node, and forward link + span. Only moving forward reaches a new
//!   cache line; records are recycled through per-height free lists.
//! - Members are stored once, in a `Vec` of entries (member, score, node,
//!   height) found through a hash table of 4-byte positions. Removal swaps
//!   the last entry into the hole, so an entry's position only ever moves
//!   down: ZSCAN's count-down cursor over positions cannot skip an entry that
//!   stays for the whole scan. (An IndexMap would do the same with a stored
//!   hash per entry and 8-byte positions: ~30 more bytes per member.)

use super::{FastState, Sds};
use hashbrown::HashTable;
use std::hash::BuildHasher;

pub type Member = Sds;

/// A node handle returned by searches; valid until the next mutation.
pub type NodeId = u32;

const MAX_LEVEL: usize = 32;
const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

/// One member with where to find it in the list.
#[derive(Clone, Debug)]
struct Entry {
    member: Member,
    score: f64,
    node: NodeId,
    height: u8,
}

/// Node records: `[member index | backward << 32]`, then per level
/// `[forward score bits]`, `[forward | span << 32]`.
#[derive(Clone, Debug)]
struct Arena {
    words: Vec<u64>,
    /// Released records by height - 1.
    free: [Vec<NodeId>; MAX_LEVEL],
}

impl Arena {
    fn level_at(x: NodeId, i: usize) -> usize {
        x as usize + 1 + 2 * i
    }

    fn entry(&self, x: NodeId) -> usize {
        self.words[x as usize] as u32 as usize
    }

    fn backward(&self, x: NodeId) -> NodeId {
        (self.words[x as usize] >> 32) as u32
    }

    fn set_header(&mut self, x: NodeId, entry: u32, backward: NodeId) {
        self.words[x as usize] = entry as u64 | (backward as u64) << 32;
    }

    fn set_entry(&mut self, x: NodeId, entry: usize) {
        let backward = self.backward(x);
        self.set_header(x, entry as u32, backward);
    }

    fn set_backward(&mut self, x: NodeId, backward: NodeId) {
        let entry = self.words[x as usize] as u32;
        self.set_header(x, entry, backward);
    }

    fn forward_score(&self, x: NodeId, i: usize) -> f64 {
        f64::from_bits(self.words[Self::level_at(x, i)])
    }

    /// (forward, span) of level `i` of node `x`.
    fn link(&self, x: NodeId, i: usize) -> (NodeId, u32) {
        let w = self.words[Self::level_at(x, i) + 1];
        (w as u32, (w >> 32) as u32)
    }

    fn set_level(&mut self, x: NodeId, i: usize, score: f64, forward: NodeId, span: u32) {
        let at = Self::level_at(x, i);
        self.words[at] = score.to_bits();
        self.words[at + 1] = forward as u64 | (span as u64) << 32;
    }

    fn set_span(&mut self, x: NodeId, i: usize, span: u32) {
        let (forward, _) = self.link(x, i);
        self.words[Self::level_at(x, i) + 1] = forward as u64 | (span as u64) << 32;
    }

    fn set_forward_score(&mut self, x: NodeId, i: usize, score: f64) {
        self.words[Self::level_at(x, i)] = score.to_bits();
    }

    /// A record with `height` levels, reused if one was released.
    fn alloc(&mut self, height: usize, entry: usize) -> NodeId {
        let x = match self.free[height - 1].pop() {
            Some(x) => x,
            None => {
                let x = u32::try_from(self.words.len())
                    .ok()
                    .filter(|&x| x < NIL)
                    .expect("sorted set index beyond 2^32 words (32 GiB)");
                self.words.resize(self.words.len() + 1 + 2 * height, 0);
                x
            }
        };
        self.set_header(x, entry as u32, NIL);
        x
    }

    fn release(&mut self, x: NodeId, height: usize) {
        self.free[height - 1].push(x);
    }
}

fn random_level() -> usize {
    // Each further level with probability 1/4, as Redis' ZSKIPLIST_P: count
    // pairs of zero bits at the bottom of one random word.
    let zero_pairs = crate::util::rand_u64().trailing_zeros() as usize / 2;
    (1 + zero_pairs).min(MAX_LEVEL)
}

#[derive(Clone, Debug)]
pub struct SkipList {
    /// Members in insertion order, except that removal swaps the last in.
    entries: Vec<Entry>,
    /// Positions in `entries`, hashed by member.
    index: HashTable<u32>,
    hasher: FastState,
    arena: Arena,
    /// Levels in use (at least 1).
    level: usize,
    tail: NodeId,
    /// Nodes linked into the list (the map may briefly hold one more).
    linked: u32,
}

impl Default for SkipList {
    fn default() -> Self {
        Self::new()
    }
}

/// A node seen by a range search predicate; the member is fetched only if asked.
pub struct Probe<'a> {
    list: &'a SkipList,
    node: NodeId,
    pub score: f64,
}

impl Probe<'_> {
    pub fn member(&self) -> &[u8] {
        self.list.member(self.node)
    }
}

/// Predecessors of a position at every level, and their ranks.
struct Path {
    update: [NodeId; MAX_LEVEL],
    rank: [u32; MAX_LEVEL],
}

impl SkipList {
    pub fn new() -> Self {
        let mut arena = Arena {
            words: Vec::new(),
            free: Default::default(),
        };
        let head = arena.alloc(MAX_LEVEL, NIL as usize);
        for i in 0..MAX_LEVEL {
            arena.set_level(head, i, 0.0, NIL, 0);
        }
        SkipList {
            entries: Vec::new(),
            index: HashTable::new(),
            hasher: FastState::default(),
            arena,
            level: 1,
            tail: NIL,
            linked: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn hash(&self, member: &[u8]) -> u64 {
        self.hasher.hash_one(member)
    }

    /// The position of a member in `entries`.
    fn find(&self, hash: u64, member: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(hash, |&i| entries[i as usize].member.as_slice() == member)
            .map(|&i| i as usize)
    }

    pub fn score_of(&self, member: &[u8]) -> Option<f64> {
        let i = self.find(self.hash(member), member)?;
        Some(self.entries[i].score)
    }

    /// The member at position `i` (what SCAN iterates).
    pub fn at_position(&self, i: usize) -> Option<(&Member, f64)> {
        self.entries.get(i).map(|e| (&e.member, e.score))
    }

    pub fn score(&self, id: NodeId) -> f64 {
        self.entries[self.arena.entry(id)].score
    }

    pub fn member(&self, id: NodeId) -> &Member {
        &self.entries[self.arena.entry(id)].member
    }

    /// The next node in ascending order.
    pub fn next(&self, id: NodeId) -> Option<NodeId> {
        let (f, _) = self.arena.link(id, 0);
        (f != NIL).then_some(f)
    }

    /// The previous node in ascending order.
    pub fn prev(&self, id: NodeId) -> Option<NodeId> {
        let b = self.arena.backward(id);
        (b != NIL).then_some(b)
    }

    pub fn first(&self) -> Option<NodeId> {
        self.next(HEAD)
    }

    pub fn last(&self) -> Option<NodeId> {
        (self.tail != NIL).then_some(self.tail)
    }

    /// Sets a member's score, adding the member if absent; true if it was new.
    pub fn set(&mut self, member: &[u8], score: f64) -> bool {
        self.upsert(member, |_| Some(score))
    }

    /// Looks a member up once: `decide` gets its current score (None if
    /// absent) and returns the score to give it, or None to leave it as is.
    /// True if the member was added.
    pub fn upsert(
        &mut self,
        member: &[u8],
        decide: impl FnOnce(Option<f64>) -> Option<f64>,
    ) -> bool {
        let hash = self.hash(member);
        if let Some(i) = self.find(hash, member) {
            let old = self.entries[i].score;
            match decide(Some(old)) {
                Some(score) if score != old => self.rescore(i, member, score),
                _ => {}
            }
            return false;
        }
        match decide(None) {
            Some(score) => {
                self.add(hash, member, score);
                true
            }
            None => false,
        }
    }

    fn add(&mut self, hash: u64, member: &[u8], score: f64) {
        let i = self.entries.len();
        let position = u32::try_from(i).expect("sorted set beyond 2^32 members");
        let height = random_level();
        let node = self.arena.alloc(height, i);
        self.entries.push(Entry {
            member: Member::from_slice(member),
            score,
            node,
            height: height as u8,
        });
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.index.insert_unique(hash, position, |&j| {
            hasher.hash_one(entries[j as usize].member.as_slice())
        });
        self.link(node, height, score, member);
    }

    /// Removes a member; its score if it was present.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let hash = self.hash(member);
        let entries = &self.entries;
        let slot = self
            .index
            .find_entry(hash, |&i| entries[i as usize].member.as_slice() == member)
            .ok()?;
        let i = slot.remove().0 as usize;
        let (score, node, height) = {
            let e = &self.entries[i];
            (e.score, e.node, e.height as usize)
        };
        let path = self.path_to(score, member, node);
        self.unlink(node, height, &path.update);
        self.arena.release(node, height);
        let last = self.entries.len() - 1;
        if i != last {
            // The last entry moves into the hole: repoint its slot and node.
            let moved_hash = self.hash(&self.entries[last].member);
            if let Some(slot) = self.index.find_mut(moved_hash, |&j| j as usize == last) {
                *slot = i as u32;
            }
            self.arena.set_entry(self.entries[last].node, i);
        }
        self.entries.swap_remove(i);
        Some(score)
    }

    /// 0-based rank of a member, if present.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let e = &self.entries[self.find(self.hash(member), member)?];
        Some(self.rank_of_node(e.node, e.score, member))
    }

    /// 0-based rank of a node handle.
    pub fn rank_of(&self, id: NodeId) -> usize {
        let e = &self.entries[self.arena.entry(id)];
        self.rank_of_node(id, e.score, &e.member)
    }

    /// The node at 0-based rank `r`.
    pub fn by_rank(&self, r: usize) -> Option<NodeId> {
        let target = r as u64 + 1;
        let mut x = HEAD;
        let mut traversed = 0u64;
        for i in (0..self.level).rev() {
            loop {
                let (f, span) = self.arena.link(x, i);
                if f == NIL || traversed + span as u64 > target {
                    break;
                }
                traversed += span as u64;
                x = f;
            }
            if traversed == target {
                return Some(x);
            }
        }
        None
    }

    /// The first node for which `past_min` holds (nodes are ordered, so the
    /// predicate is monotone), searched in O(log n).
    pub fn first_where(&self, past_min: impl Fn(&Probe) -> bool) -> Option<NodeId> {
        self.next(self.last_before(past_min))
    }

    /// The last node for which `below_max` holds (monotone, true then false).
    pub fn last_where(&self, below_max: impl Fn(&Probe) -> bool) -> Option<NodeId> {
        let x = self.last_before(|p| !below_max(p));
        (x != HEAD).then_some(x)
    }

    /// The last node before the first one for which `stop` holds (`stop` is
    /// monotone: false then true), or HEAD when there is none: one O(log n)
    /// descent that both range searches share.
    fn last_before(&self, stop: impl Fn(&Probe) -> bool) -> NodeId {
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let (f, _) = self.arena.link(x, i);
                if f == NIL {
                    break;
                }
                let probe = Probe {
                    list: self,
                    node: f,
                    score: self.arena.forward_score(x, i),
                };
                if stop(&probe) {
                    break;
                }
                x = f;
            }
        }
        x
    }

    /// Does node `f`, whose score is `f_score`, sort before (score, member)?
    /// `target` is the node holding (score, member) if it is linked, so
    /// reaching it needs no member comparison.
    fn sorts_before(
        &self,
        f: NodeId,
        f_score: f64,
        score: f64,
        member: &[u8],
        target: NodeId,
    ) -> bool {
        f_score < score || (f_score == score && f != target && self.member(f).as_slice() < member)
    }

    /// The predecessors of (score, member) at each level, with their ranks.
    fn path_to(&self, score: f64, member: &[u8], target: NodeId) -> Path {
        let mut path = Path {
            update: [HEAD; MAX_LEVEL],
            rank: [0; MAX_LEVEL],
        };
        let mut x = HEAD;
        let mut rank = 0u32;
        for i in (0..self.level).rev() {
            loop {
                let (f, span) = self.arena.link(x, i);
                if f == NIL
                    || !self.sorts_before(f, self.arena.forward_score(x, i), score, member, target)
                {
                    break;
                }
                rank += span;
                x = f;
            }
            path.update[i] = x;
            path.rank[i] = rank;
        }
        path
    }

    fn rank_of_node(&self, node: NodeId, score: f64, member: &[u8]) -> usize {
        let mut x = HEAD;
        let mut rank = 0u64;
        for i in (0..self.level).rev() {
            loop {
                let (f, span) = self.arena.link(x, i);
                if f == NIL {
                    break;
                }
                if f == node {
                    return (rank + span as u64 - 1) as usize;
                }
                if !self.sorts_before(f, self.arena.forward_score(x, i), score, member, node) {
                    break;
                }
                rank += span as u64;
                x = f;
            }
        }
        unreachable!("a member in the map is linked in the list")
    }

    /// Links record `x` (with `height` levels) at the place of (score, member).
    fn link(&mut self, x: NodeId, height: usize, score: f64, member: &[u8]) {
        let Path {
            mut update,
            mut rank,
        } = self.path_to(score, member, NIL);
        if height > self.level {
            for i in self.level..height {
                rank[i] = 0;
                update[i] = HEAD;
                self.arena.set_level(HEAD, i, 0.0, NIL, self.linked);
            }
            self.level = height;
        }
        for i in 0..height {
            let u = update[i];
            let (u_forward, u_span) = self.arena.link(u, i);
            let u_forward_score = self.arena.forward_score(u, i);
            let before = rank[0] - rank[i];
            self.arena
                .set_level(x, i, u_forward_score, u_forward, u_span - before);
            self.arena.set_level(u, i, score, x, before + 1);
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(height) {
            let (_, span) = self.arena.link(u, i);
            self.arena.set_span(u, i, span + 1);
        }
        let backward = if update[0] == HEAD { NIL } else { update[0] };
        self.arena.set_backward(x, backward);
        match self.arena.link(x, 0).0 {
            NIL => self.tail = x,
            next => self.arena.set_backward(next, x),
        }
        self.linked += 1;
    }

    /// Unlinks node `x`, whose predecessors are `update`; the record stays allocated.
    fn unlink(&mut self, x: NodeId, height: usize, update: &[NodeId; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let (_, u_span) = self.arena.link(u, i);
            if i < height {
                // Below x's height the predecessor's forward at level i is x.
                let (x_forward, x_span) = self.arena.link(x, i);
                let x_forward_score = self.arena.forward_score(x, i);
                self.arena
                    .set_level(u, i, x_forward_score, x_forward, u_span + x_span - 1);
            } else {
                self.arena.set_span(u, i, u_span - 1);
            }
        }
        let backward = self.arena.backward(x);
        match self.arena.link(x, 0).0 {
            NIL => self.tail = backward,
            next => self.arena.set_backward(next, backward),
        }
        while self.level > 1 && self.arena.link(HEAD, self.level - 1).0 == NIL {
            self.level -= 1;
        }
        self.linked -= 1;
    }

    /// Moves the member at position `i` to `score`:
    /// in place when its neighbours still bracket the new score (Redis'
    /// zslUpdateScore), else unlinked and relinked reusing its record.
    fn rescore(&mut self, i: usize, member: &[u8], score: f64) {
        let (old_score, x, height) = {
            let e = &self.entries[i];
            (e.score, e.node, e.height as usize)
        };
        let path = self.path_to(old_score, member, x);
        let prev = self.arena.backward(x);
        let (next, _) = self.arena.link(x, 0);
        let prev_below = prev == NIL || self.score(prev) < score;
        let next_above = next == NIL || self.arena.forward_score(x, 0) > score;
        if prev_below && next_above {
            for (level, &u) in path.update.iter().enumerate().take(height) {
                self.arena.set_forward_score(u, level, score);
            }
        } else {
            self.unlink(x, height, &path.update);
            self.link(x, height, score, member);
        }
        self.entries[i].score = score;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// (score bits made totally ordered, member): the reference order.
    type Key = (i64, Vec<u8>);

    fn key(score: f64, member: &[u8]) -> Key {
        // Scores here are small integers, so truncation keeps order exactly.
        (score as i64, member.to_vec())
    }

    /// Checks every structural invariant against the reference set.
    fn check(sl: &SkipList, model: &BTreeSet<Key>) {
        assert_eq!(sl.len(), model.len());
        assert_eq!(sl.linked as usize, model.len());
        // Level 0 in order, backward links, ranks, by_rank.
        let mut id = sl.first();
        let mut prev = None;
        let mut rank_of_node = std::collections::HashMap::new();
        for (r, want) in model.iter().enumerate() {
            let n = id.expect("list shorter than model");
            assert_eq!(&key(sl.score(n), sl.member(n)), want);
            assert_eq!(sl.prev(n), prev);
            assert_eq!(sl.by_rank(r), Some(n));
            assert_eq!(sl.rank(sl.member(n)), Some(r));
            assert_eq!(sl.rank_of(n), r);
            rank_of_node.insert(n, r as u32 + 1);
            prev = Some(n);
            id = sl.next(n);
        }
        assert_eq!(id, None);
        assert_eq!(sl.last(), prev);
        assert_eq!(sl.by_rank(model.len()), None);
        // Every level: cached forward scores and spans.
        for i in 0..sl.level {
            let mut x = HEAD;
            let mut at = 0u32;
            loop {
                let (f, span) = sl.arena.link(x, i);
                if f == NIL {
                    break;
                }
                assert_eq!(sl.arena.forward_score(x, i), sl.score(f));
                assert_eq!(at + span, rank_of_node[&f], "span at level {i}");
                at += span;
                x = f;
            }
        }
        // Map positions and nodes agree.
        assert_eq!(sl.index.len(), sl.entries.len());
        for (pos, e) in sl.entries.iter().enumerate() {
            assert_eq!(sl.arena.entry(e.node), pos);
            assert_eq!(sl.find(sl.hash(&e.member), &e.member), Some(pos));
        }
    }

    #[test]
    fn model_based_random_operations() {
        let mut sl = SkipList::new();
        let mut model: BTreeSet<Key> = BTreeSet::new();
        let mut scores: std::collections::HashMap<Vec<u8>, f64> = Default::default();
        for step in 0..20_000u32 {
            let r = crate::util::rand_u64();
            // Few distinct scores, so ties ordered by member are common.
            let member = format!("m{}", r % 400).into_bytes();
            let score = ((r >> 16) % 50) as f64;
            match (r >> 32) % 8 {
                0..=3 => {
                    let was = scores.insert(member.clone(), score);
                    if let Some(old) = was {
                        model.remove(&key(old, &member));
                    }
                    model.insert(key(score, &member));
                    assert_eq!(sl.set(&member, score), was.is_none());
                }
                4 | 5 => {
                    let was = scores.remove(&member);
                    if let Some(old) = was {
                        model.remove(&key(old, &member));
                    }
                    assert_eq!(sl.remove(&member), was);
                }
                6 => {
                    // Range searches, walked both ways.
                    let (lo, hi) = (score, score + ((r >> 40) % 10) as f64);
                    let want: Vec<Key> = model
                        .iter()
                        .filter(|k| k.0 >= lo as i64 && k.0 <= hi as i64)
                        .cloned()
                        .collect();
                    let first = sl.first_where(|p| p.score >= lo);
                    let last = sl.last_where(|p| p.score <= hi);
                    let mut got = Vec::new();
                    let mut back = Vec::new();
                    if let (Some(a), Some(b)) = (first, last) {
                        if sl.score(a) <= hi {
                            let mut n = Some(a);
                            while let Some(x) = n {
                                got.push(key(sl.score(x), sl.member(x)));
                                n = if x == b { None } else { sl.next(x) };
                            }
                            let mut n = Some(b);
                            while let Some(x) = n {
                                back.push(key(sl.score(x), sl.member(x)));
                                n = if x == a { None } else { sl.prev(x) };
                            }
                        }
                    }
                    back.reverse();
                    assert_eq!(got, want);
                    assert_eq!(back, want);
                }
                _ => {
                    // Lexical search within one score.
                    let first = sl.first_where(|p| {
                        p.score > score || (p.score == score && p.member() >= member.as_slice())
                    });
                    let want = model.range(key(score, &member)..).next().cloned();
                    assert_eq!(first.map(|n| key(sl.score(n), sl.member(n))), want);
                }
            }
            if step % 500 == 0 {
                check(&sl, &model);
            }
        }
        check(&sl, &model);
        let members: Vec<Vec<u8>> = scores.keys().cloned().collect();
        for m in members {
            let old = scores.remove(&m).expect("present");
            model.remove(&key(old, &m));
            assert_eq!(sl.remove(&m), Some(old));
        }
        check(&sl, &model);
        assert_eq!(sl.first(), None);
        assert_eq!(sl.level, 1);
    }

    #[test]
    fn rescoring_in_place_and_moving() {
        let mut sl = SkipList::new();
        for i in 0..100 {
            sl.set(format!("m{i:03}").as_bytes(), (i * 10) as f64);
        }
        // Stays between its neighbours: updated in place, same node.
        let node = sl.by_rank(50).expect("present");
        sl.set(b"m050", 505.0);
        assert_eq!(sl.by_rank(50), Some(node));
        assert_eq!(sl.score(node), 505.0);
        // Moves past others; the record is reused.
        sl.set(b"m050", -1.0);
        assert_eq!(sl.rank(b"m050"), Some(0));
        assert_eq!(sl.first(), Some(node));
        // Equal to a neighbour's score: ordered by member.
        sl.set(b"m050", 10.0);
        assert_eq!(sl.rank(b"m001"), Some(1));
        assert_eq!(sl.rank(b"m050"), Some(2));
        let model: BTreeSet<Key> = (0..100)
            .map(|i| {
                let m = format!("m{i:03}");
                key(sl.score_of(m.as_bytes()).expect("present"), m.as_bytes())
            })
            .collect();
        check(&sl, &model);
    }

    #[test]
    fn positions_only_move_down_on_removal() {
        let mut sl = SkipList::new();
        for i in 0..10 {
            sl.set(format!("{i}").as_bytes(), i as f64);
        }
        sl.remove(b"3");
        // The last entry filled the hole; nothing else moved.
        let order: Vec<&[u8]> = (0..sl.len())
            .map(|i| sl.at_position(i).expect("in range").0.as_slice())
            .collect();
        let expect: Vec<&[u8]> = vec![b"0", b"1", b"2", b"9", b"4", b"5", b"6", b"7", b"8"];
        assert_eq!(order, expect);
        assert_eq!(sl.at_position(9), None);
    }
}
