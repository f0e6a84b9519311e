//! The in-memory DataTree: znodes with their Stat, the ephemeral nodes of
//! each session, the container and TTL nodes, and the session table.
//! Mutations only come through [`DataTree::apply`], so that replaying the
//! log rebuilds the same tree.

use crate::jute::{DecodeResult, Reader, Writer};
use crate::proto::{event, owner_ttl, Acl, Stat, CONTAINER_OWNER};
use crate::txn::{Txn, TxnHeader};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Clone)]
pub struct Node {
    pub data: Vec<u8>,
    pub acl: Vec<Acl>,
    /// As stored. `cversion` here counts child creations only, which is what
    /// sequential suffixes use; clients see [`Node::client_stat`].
    pub stat: Stat,
    pub children: BTreeSet<String>,
}

impl Node {
    /// The Stat a client sees, as ZooKeeper's DataNode.copyStat makes it:
    /// cversion counts creations and deletions (every child not present any
    /// more was deleted once), and container / TTL owners read as 0.
    pub fn client_stat(&self) -> Stat {
        let mut s = self.stat;
        s.cversion = s.cversion.wrapping_mul(2).wrapping_sub(s.num_children);
        if s.ephemeral_owner == CONTAINER_OWNER || owner_ttl(s.ephemeral_owner).is_some() {
            s.ephemeral_owner = 0;
        }
        s
    }
}

/// What one applied transaction produced, for the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnResult {
    Created { path: String, stat: Stat },
    Deleted,
    Stat(Stat),
    Checked,
    Session,
    Multi(Vec<TxnResult>),
    Error(i32),
}

/// A change that watches may be waiting for: (path, event type).
pub type WatchTrigger = (String, i32);

pub fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn child_name(path: &str) -> &str {
    &path[path.rfind('/').map_or(0, |i| i + 1)..]
}

pub fn join(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// Paths that exist in every ZooKeeper tree and that clients may not change.
const SYSTEM_NODES: [&str; 4] = ["/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"];

pub fn is_system_path(path: &str) -> bool {
    path == "/zookeeper" || path.starts_with("/zookeeper/")
}

pub struct DataTree {
    nodes: HashMap<String, Node>,
    ephemerals: HashMap<i64, BTreeSet<String>>,
    containers: BTreeSet<String>,
    ttls: BTreeSet<String>,
    /// Live sessions and their negotiated timeouts: the durable part of the
    /// session table.
    pub sessions: BTreeMap<i64, i32>,
    /// The zxid of the last applied transaction.
    pub last_zxid: i64,
}

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

impl DataTree {
    pub fn new() -> DataTree {
        let mut tree = DataTree {
            nodes: HashMap::new(),
            ephemerals: HashMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            sessions: BTreeMap::new(),
            last_zxid: 0,
        };
        for path in SYSTEM_NODES {
            tree.insert_node(
                path,
                Node { data: Vec::new(), acl: Acl::open_unsafe(), stat: Stat::default(), children: BTreeSet::new() },
            );
        }
        tree
    }

    /// Adds a node and links it under its parent; indexes its owner.
    fn insert_node(&mut self, path: &str, node: Node) {
        let owner = node.stat.ephemeral_owner;
        if owner == CONTAINER_OWNER {
            self.containers.insert(path.to_string());
        } else if owner_ttl(owner).is_some() {
            self.ttls.insert(path.to_string());
        } else if owner != 0 {
            self.ephemerals.entry(owner).or_default().insert(path.to_string());
        }
        if path != "/" {
            if let Some(parent) = self.nodes.get_mut(parent_of(path)) {
                parent.children.insert(child_name(path).to_string());
                parent.stat.num_children = parent.children.len() as i32;
            }
        }
        self.nodes.insert(path.to_string(), node);
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn ephemerals_of(&self, session: i64) -> impl Iterator<Item = &String> {
        self.ephemerals.get(&session).into_iter().flatten()
    }

    pub fn sessions_with_ephemerals(&self) -> impl Iterator<Item = (&i64, &BTreeSet<String>)> {
        self.ephemerals.iter()
    }

    /// Containers that had children and have none left, as ZooKeeper's
    /// ContainerManager picks them.
    pub fn empty_containers(&self) -> Vec<String> {
        let empty = |p: &&String| self.nodes.get(*p).is_some_and(|n| n.children.is_empty() && n.stat.cversion > 0);
        self.containers.iter().filter(empty).cloned().collect()
    }

    /// TTL nodes without children that nobody changed for longer than their TTL.
    pub fn expired_ttls(&self, now_ms: i64) -> Vec<String> {
        let expired = |p: &&String| {
            self.nodes.get(*p).is_some_and(|n| {
                let ttl = owner_ttl(n.stat.ephemeral_owner).unwrap_or(i64::MAX);
                n.children.is_empty() && now_ms - n.stat.mtime > ttl
            })
        };
        self.ttls.iter().filter(expired).cloned().collect()
    }

    /// Number of nodes below `path`, not counting itself.
    pub fn descendant_count(&self, path: &str) -> usize {
        let Some(node) = self.nodes.get(path) else {
            return 0;
        };
        node.children.iter().map(|c| 1 + self.descendant_count(&join(path, c))).sum()
    }

    /// Applies one transaction and reports what changed. A transaction that
    /// no longer fits the tree (it can only come from a damaged log) is
    /// reported as a system error and changes nothing more.
    pub fn apply(&mut self, hdr: &TxnHeader, txn: &Txn, triggers: &mut Vec<WatchTrigger>) -> TxnResult {
        if hdr.zxid > self.last_zxid {
            self.last_zxid = hdr.zxid;
        }
        self.apply_one(hdr, txn, triggers)
    }

    fn apply_one(&mut self, hdr: &TxnHeader, txn: &Txn, triggers: &mut Vec<WatchTrigger>) -> TxnResult {
        match txn {
            Txn::CreateSession { timeout_ms } => {
                self.sessions.insert(hdr.session, *timeout_ms);
                TxnResult::Session
            }
            Txn::CloseSession => {
                let paths: Vec<String> = self.ephemerals_of(hdr.session).cloned().collect();
                // Deepest first, although ephemerals cannot have children.
                for path in paths.iter().rev() {
                    self.delete(hdr, path, triggers);
                }
                self.sessions.remove(&hdr.session);
                TxnResult::Session
            }
            Txn::Create { path, data, acl, owner, parent_cversion } => {
                let Some(parent) = self.nodes.get_mut(parent_of(path)) else {
                    return TxnResult::Error(crate::proto::ErrCode::NoNode.code());
                };
                parent.stat.cversion = *parent_cversion;
                parent.stat.pzxid = hdr.zxid;
                let stat = Stat {
                    czxid: hdr.zxid,
                    mzxid: hdr.zxid,
                    pzxid: hdr.zxid,
                    ctime: hdr.time,
                    mtime: hdr.time,
                    ephemeral_owner: *owner,
                    data_length: data.len() as i32,
                    ..Stat::default()
                };
                let node = Node { data: data.clone(), acl: acl.clone(), stat, children: BTreeSet::new() };
                let stat = node.client_stat();
                self.insert_node(path, node);
                triggers.push((path.clone(), event::NODE_CREATED));
                triggers.push((parent_of(path).to_string(), event::NODE_CHILDREN_CHANGED));
                TxnResult::Created { path: path.clone(), stat }
            }
            Txn::Delete { path } => {
                if self.delete(hdr, path, triggers) {
                    TxnResult::Deleted
                } else {
                    TxnResult::Error(crate::proto::ErrCode::NoNode.code())
                }
            }
            Txn::SetData { path, data, version } => match self.nodes.get_mut(path) {
                Some(node) => {
                    node.data = data.clone();
                    node.stat.version = *version;
                    node.stat.mzxid = hdr.zxid;
                    node.stat.mtime = hdr.time;
                    node.stat.data_length = data.len() as i32;
                    triggers.push((path.clone(), event::NODE_DATA_CHANGED));
                    TxnResult::Stat(node.client_stat())
                }
                None => TxnResult::Error(crate::proto::ErrCode::NoNode.code()),
            },
            Txn::SetAcl { path, acl, aversion } => match self.nodes.get_mut(path) {
                Some(node) => {
                    node.acl = acl.clone();
                    node.stat.aversion = *aversion;
                    TxnResult::Stat(node.client_stat())
                }
                None => TxnResult::Error(crate::proto::ErrCode::NoNode.code()),
            },
            Txn::Check { .. } => TxnResult::Checked,
            Txn::Multi(txns) => TxnResult::Multi(txns.iter().map(|t| self.apply_one(hdr, t, triggers)).collect()),
            Txn::Error(code) => TxnResult::Error(*code),
        }
    }

    /// Removes a leaf node; false if it was not there.
    fn delete(&mut self, hdr: &TxnHeader, path: &str, triggers: &mut Vec<WatchTrigger>) -> bool {
        let Some(node) = self.nodes.remove(path) else {
            return false;
        };
        let owner = node.stat.ephemeral_owner;
        self.containers.remove(path);
        self.ttls.remove(path);
        if let Some(set) = self.ephemerals.get_mut(&owner) {
            set.remove(path);
            if set.is_empty() {
                self.ephemerals.remove(&owner);
            }
        }
        let parent_path = parent_of(path);
        if let Some(parent) = self.nodes.get_mut(parent_path) {
            parent.children.remove(child_name(path));
            parent.stat.num_children = parent.children.len() as i32;
            // ZooKeeper moves pzxid but not cversion on a delete, so
            // sequential suffixes only count creations.
            parent.stat.pzxid = hdr.zxid;
        }
        triggers.push((path.to_string(), event::NODE_DELETED));
        triggers.push((parent_path.to_string(), event::NODE_CHILDREN_CHANGED));
        true
    }

    /// Serializes every node (parents before children) and the session table.
    pub fn write_snapshot(&self, w: &mut Writer) {
        w.long(self.last_zxid);
        w.int(self.sessions.len() as i32);
        for (id, timeout) in &self.sessions {
            w.long(*id).int(*timeout);
        }
        let mut paths: Vec<&String> = self.nodes.keys().collect();
        paths.sort();
        w.int(paths.len() as i32);
        for path in paths {
            let node = &self.nodes[path];
            w.string(path).buffer(&node.data);
            Acl::write_all(w, &node.acl);
            node.stat.write(w);
        }
    }

    pub fn read_snapshot(r: &mut Reader) -> DecodeResult<DataTree> {
        let mut tree = DataTree::new();
        tree.last_zxid = r.long()?;
        for (id, timeout) in r.vec(|r| Ok((r.long()?, r.int()?)))? {
            tree.sessions.insert(id, timeout);
        }
        let count = r.int()?;
        for _ in 0..count.max(0) {
            let (path, data, acl, stat) = (r.string()?, r.buffer()?, Acl::read_all(r)?, Stat::read(r)?);
            let node = Node { data, acl, stat, children: BTreeSet::new() };
            tree.insert_node(&path, node);
        }
        // insert_node recounted children as they were linked; the stored
        // Stat is authoritative for everything else.
        Ok(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(zxid: i64) -> TxnHeader {
        TxnHeader { session: 7, cxid: 1, zxid, time: 1000 + zxid }
    }

    fn create(path: &str, owner: i64, parent_cversion: i32) -> Txn {
        Txn::Create { path: path.into(), data: b"v".to_vec(), acl: Acl::open_unsafe(), owner, parent_cversion }
    }

    #[test]
    fn create_sets_stat_and_parent() {
        let mut t = DataTree::new();
        let mut trig = Vec::new();
        let r = t.apply(&hdr(5), &create("/a", 0, 1), &mut trig);
        let TxnResult::Created { stat, .. } = r else { panic!("{r:?}") };
        assert_eq!((stat.czxid, stat.mzxid, stat.pzxid, stat.ctime, stat.data_length), (5, 5, 5, 1005, 1));
        let root = t.get("/").unwrap();
        assert_eq!((root.stat.cversion, root.stat.pzxid, root.stat.num_children), (1, 5, 2));
        assert_eq!(
            trig,
            vec![("/a".to_string(), event::NODE_CREATED), ("/".to_string(), event::NODE_CHILDREN_CHANGED)]
        );
    }

    #[test]
    fn set_data_and_delete() {
        let mut t = DataTree::new();
        let mut trig = Vec::new();
        t.apply(&hdr(1), &create("/a", 0, 1), &mut trig);
        let r = t.apply(&hdr(2), &Txn::SetData { path: "/a".into(), data: b"xyz".to_vec(), version: 1 }, &mut trig);
        let TxnResult::Stat(s) = r else { panic!() };
        assert_eq!((s.version, s.mzxid, s.czxid, s.data_length), (1, 2, 1, 3));
        assert_eq!(t.apply(&hdr(3), &Txn::Delete { path: "/a".into() }, &mut trig), TxnResult::Deleted);
        assert!(t.get("/a").is_none());
        assert_eq!(t.get("/").unwrap().stat.cversion, 1);
        assert_eq!(t.last_zxid, 3);
    }

    #[test]
    fn close_session_removes_its_ephemerals() {
        let mut t = DataTree::new();
        let mut trig = Vec::new();
        t.apply(&hdr(1), &Txn::CreateSession { timeout_ms: 4000 }, &mut trig);
        t.apply(&hdr(2), &create("/e", 7, 1), &mut trig);
        t.apply(&hdr(3), &create("/p", 0, 2), &mut trig);
        assert_eq!(t.ephemerals_of(7).count(), 1);
        trig.clear();
        t.apply(&hdr(4), &Txn::CloseSession, &mut trig);
        assert!(t.get("/e").is_none());
        assert!(t.get("/p").is_some());
        assert!(t.sessions.is_empty());
        assert!(trig.contains(&("/e".to_string(), event::NODE_DELETED)));
    }

    #[test]
    fn containers_and_ttls_are_found() {
        let mut t = DataTree::new();
        let mut trig = Vec::new();
        t.apply(&hdr(1), &create("/c", CONTAINER_OWNER, 1), &mut trig);
        assert!(t.empty_containers().is_empty(), "a container that never had children stays");
        t.apply(&hdr(2), &create("/c/x", 0, 1), &mut trig);
        t.apply(&hdr(3), &Txn::Delete { path: "/c/x".into() }, &mut trig);
        assert_eq!(t.empty_containers(), vec!["/c".to_string()]);
        t.apply(&hdr(4), &create("/t", crate::proto::ttl_owner(100), 2), &mut trig);
        assert!(t.expired_ttls(1004 + 50).is_empty());
        assert_eq!(t.expired_ttls(1004 + 101), vec!["/t".to_string()]);
    }

    #[test]
    fn snapshot_round_trips() {
        let mut t = DataTree::new();
        let mut trig = Vec::new();
        t.apply(&hdr(1), &Txn::CreateSession { timeout_ms: 4000 }, &mut trig);
        t.apply(&hdr(2), &create("/a", 0, 1), &mut trig);
        t.apply(&hdr(3), &create("/a/e", 7, 1), &mut trig);
        let mut w = Writer::new();
        t.write_snapshot(&mut w);
        let back = DataTree::read_snapshot(&mut Reader::new(&w.buf)).unwrap();
        assert_eq!(back.last_zxid, 3);
        assert_eq!(back.sessions.get(&7), Some(&4000));
        assert_eq!(back.get("/a").unwrap().stat, t.get("/a").unwrap().stat);
        assert_eq!(back.get("/a").unwrap().children.len(), 1);
        assert_eq!(back.ephemerals_of(7).count(), 1);
        assert_eq!(back.descendant_count("/"), t.descendant_count("/"));
    }

    #[test]
    fn client_cversion_counts_deletes_too() {
        let mut t = DataTree::new();
        let mut trig = Vec::new();
        t.apply(&hdr(1), &create("/p", 0, 1), &mut trig);
        t.apply(&hdr(2), &create("/p/a", 0, 1), &mut trig);
        t.apply(&hdr(3), &create("/p/b", 0, 2), &mut trig);
        t.apply(&hdr(4), &Txn::Delete { path: "/p/a".into() }, &mut trig);
        let p = t.get("/p").unwrap();
        assert_eq!((p.stat.cversion, p.client_stat().cversion), (2, 3));
    }

    #[test]
    fn path_helpers() {
        assert_eq!(parent_of("/a"), "/");
        assert_eq!(parent_of("/a/b"), "/a");
        assert_eq!(child_name("/a/b"), "b");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }
}
