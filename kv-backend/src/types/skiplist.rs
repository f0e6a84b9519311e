//! A skip list ordered by (score, member) with spans, as in Redis' zskiplist:
//! O(log n) insert, delete, rank and access by rank. Nodes live in an arena
//! (`Vec`) and link by index, which keeps the structure safe Rust.

use smallvec::SmallVec;

pub type Member = SmallVec<[u8; 16]>;

const MAX_LEVEL: usize = 32;
const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

#[derive(Clone, Copy, Debug, Default)]
struct Level {
    forward: u32,
    span: u32,
}

#[derive(Debug)]
struct Node {
    member: Member,
    score: f64,
    backward: u32,
    levels: SmallVec<[Level; 2]>,
}

#[derive(Debug)]
pub struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    tail: u32,
    level: usize,
    len: usize,
}

/// A node handle returned by searches; valid until the next mutation.
pub type NodeId = u32;

impl Default for SkipList {
    fn default() -> Self {
        Self::new()
    }
}

fn less(score: f64, member: &[u8], than_score: f64, than_member: &[u8]) -> bool {
    score < than_score || (score == than_score && member < than_member)
}

fn random_level() -> usize {
    // Probability 1/4 per level, as Redis' ZSKIPLIST_P.
    let mut lvl = 1;
    let mut r = crate::util::rand_u64();
    while lvl < MAX_LEVEL && (r & 3) == 0 {
        lvl += 1;
        r >>= 2;
        if r == 0 {
            r = crate::util::rand_u64();
        }
    }
    lvl
}

impl SkipList {
    pub fn new() -> Self {
        let head = Node {
            member: Member::new(),
            score: 0.0,
            backward: NIL,
            levels: SmallVec::from_elem(
                Level {
                    forward: NIL,
                    span: 0,
                },
                MAX_LEVEL,
            ),
        };
        SkipList {
            nodes: vec![head],
            free: Vec::new(),
            tail: NIL,
            level: 1,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn fwd(&self, x: u32, i: usize) -> u32 {
        self.nodes[x as usize].levels[i].forward
    }

    fn lvl(&mut self, x: u32, i: usize) -> &mut Level {
        &mut self.nodes[x as usize].levels[i]
    }

    pub fn score(&self, id: NodeId) -> f64 {
        self.nodes[id as usize].score
    }

    pub fn member(&self, id: NodeId) -> &Member {
        &self.nodes[id as usize].member
    }

    /// The next node in ascending order.
    pub fn next(&self, id: NodeId) -> Option<NodeId> {
        let f = self.fwd(id, 0);
        (f != NIL).then_some(f)
    }

    /// The previous node in ascending order.
    pub fn prev(&self, id: NodeId) -> Option<NodeId> {
        let b = self.nodes[id as usize].backward;
        (b != NIL).then_some(b)
    }

    pub fn first(&self) -> Option<NodeId> {
        self.next(HEAD)
    }

    pub fn last(&self) -> Option<NodeId> {
        (self.tail != NIL).then_some(self.tail)
    }

    pub fn insert(&mut self, score: f64, member: Member) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let f = self.fwd(x, i);
                if f == NIL {
                    break;
                }
                let n = &self.nodes[f as usize];
                if !less(n.score, &n.member, score, &member) {
                    break;
                }
                rank[i] += self.nodes[x as usize].levels[i].span;
                x = f;
            }
            update[i] = x;
        }
        let lvl = random_level();
        if lvl > self.level {
            for i in self.level..lvl {
                rank[i] = 0;
                update[i] = HEAD;
                let len = self.len as u32;
                self.lvl(HEAD, i).span = len;
            }
            self.level = lvl;
        }
        let node = Node {
            member,
            score,
            backward: NIL,
            levels: SmallVec::from_elem(Level::default(), lvl),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        for i in 0..lvl {
            let u = update[i];
            let ufwd = self.fwd(u, i);
            let uspan = self.nodes[u as usize].levels[i].span;
            *self.lvl(id, i) = Level {
                forward: ufwd,
                span: uspan - (rank[0] - rank[i]),
            };
            *self.lvl(u, i) = Level {
                forward: id,
                span: (rank[0] - rank[i]) + 1,
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(lvl) {
            self.lvl(u, i).span += 1;
        }
        self.nodes[id as usize].backward = if update[0] == HEAD { NIL } else { update[0] };
        let f0 = self.fwd(id, 0);
        if f0 != NIL {
            self.nodes[f0 as usize].backward = id;
        } else {
            self.tail = id;
        }
        self.len += 1;
    }

    /// Removes the node with this exact score and member; false if absent.
    pub fn delete(&mut self, score: f64, member: &[u8]) -> bool {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f == NIL {
                    break;
                }
                let n = &self.nodes[f as usize];
                if !less(n.score, &n.member, score, member) {
                    break;
                }
                x = f;
            }
            update[i] = x;
        }
        let x = self.fwd(x, 0);
        if x == NIL {
            return false;
        }
        let n = &self.nodes[x as usize];
        if n.score != score || n.member.as_slice() != member {
            return false;
        }
        self.delete_node(x, &update);
        true
    }

    fn delete_node(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            if self.fwd(u, i) == x {
                let xl = self.nodes[x as usize].levels[i];
                let ul = self.lvl(u, i);
                ul.span += xl.span;
                ul.span -= 1;
                ul.forward = xl.forward;
            } else {
                self.lvl(u, i).span -= 1;
            }
        }
        let f0 = self.fwd(x, 0);
        let back = self.nodes[x as usize].backward;
        if f0 != NIL {
            self.nodes[f0 as usize].backward = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.fwd(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
        let node = &mut self.nodes[x as usize];
        node.member = Member::new();
        node.levels = SmallVec::new();
        self.free.push(x);
    }

    /// 0-based rank of (score, member), if present.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut x = HEAD;
        let mut rank = 0u64;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f == NIL {
                    break;
                }
                let n = &self.nodes[f as usize];
                if !(n.score < score || (n.score == score && n.member.as_slice() <= member)) {
                    break;
                }
                rank += self.nodes[x as usize].levels[i].span as u64;
                x = f;
            }
            if x != HEAD && self.nodes[x as usize].member.as_slice() == member {
                return Some(rank as usize - 1);
            }
        }
        None
    }

    /// The node at 0-based rank `r`.
    pub fn by_rank(&self, r: usize) -> Option<NodeId> {
        let target = r as u64 + 1;
        let mut x = HEAD;
        let mut traversed = 0u64;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f == NIL {
                    break;
                }
                let span = self.nodes[x as usize].levels[i].span as u64;
                if traversed + span > target {
                    break;
                }
                traversed += span;
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
    pub fn first_where(&self, past_min: impl Fn(f64, &[u8]) -> bool) -> Option<NodeId> {
        self.next(self.last_before(past_min))
    }

    /// The last node for which `below_max` holds (monotone, true then false).
    pub fn last_where(&self, below_max: impl Fn(f64, &[u8]) -> bool) -> Option<NodeId> {
        let x = self.last_before(|score, member| !below_max(score, member));
        (x != HEAD).then_some(x)
    }

    /// The last node before the first one for which `stop` holds (`stop` is
    /// monotone: false then true), or HEAD when there is none: one O(log n)
    /// descent that both range searches share.
    fn last_before(&self, stop: impl Fn(f64, &[u8]) -> bool) -> NodeId {
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f == NIL {
                    break;
                }
                let n = &self.nodes[f as usize];
                if stop(n.score, &n.member) {
                    break;
                }
                x = f;
            }
        }
        x
    }

    /// 0-based rank of a node handle.
    pub fn rank_of(&self, id: NodeId) -> usize {
        let n = &self.nodes[id as usize];
        self.rank(n.score, &n.member).expect("node is in the list")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Member {
        Member::from_slice(s.as_bytes())
    }

    #[test]
    fn order_rank_and_delete() {
        let mut sl = SkipList::new();
        for i in (0..1000).rev() {
            sl.insert((i / 2) as f64, m(&format!("m{i:04}")));
        }
        assert_eq!(sl.len(), 1000);
        let mut prev: Option<(f64, Member)> = None;
        let mut id = sl.first();
        let mut count = 0;
        while let Some(n) = id {
            let cur = (sl.score(n), sl.member(n).clone());
            if let Some(p) = &prev {
                assert!(less(p.0, &p.1, cur.0, &cur.1));
            }
            assert_eq!(sl.rank(cur.0, &cur.1), Some(count));
            assert_eq!(sl.by_rank(count), Some(n));
            prev = Some(cur);
            id = sl.next(n);
            count += 1;
        }
        assert_eq!(count, 1000);
        for i in (0..1000).step_by(3) {
            assert!(sl.delete((i / 2) as f64, format!("m{i:04}").as_bytes()));
        }
        assert!(!sl.delete(0.0, b"m0000"));
        assert_eq!(sl.len(), 1000 - 334);
        assert_eq!(sl.rank(0.0, b"m0001"), Some(0));
        let last = sl.last().unwrap();
        assert_eq!(sl.member(last).as_slice(), b"m0998");
        assert_eq!(sl.rank_of(last), sl.len() - 1);
    }

    #[test]
    fn range_searches() {
        let mut sl = SkipList::new();
        for i in 0..10 {
            sl.insert(i as f64, m(&format!("{i}")));
        }
        let first = sl.first_where(|s, _| s >= 3.5).unwrap();
        assert_eq!(sl.score(first), 4.0);
        let last = sl.last_where(|s, _| s <= 6.0).unwrap();
        assert_eq!(sl.score(last), 6.0);
        assert!(sl.first_where(|s, _| s > 100.0).is_none());
        assert!(sl.last_where(|s, _| s < 0.0).is_none());
    }
}
