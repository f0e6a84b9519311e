//! Watches, held per connection as ZooKeeper does: one-shot data (getData
//! and exists) and child watches, and the persistent and persistent
//! recursive watches of addWatch.

use crate::proto::{event, WatchKind};
use std::collections::{BTreeSet, HashMap, HashSet};

pub type ConnId = u64;

#[derive(Default)]
pub struct Watches {
    tables: HashMap<WatchKind, HashMap<String, BTreeSet<ConnId>>>,
    by_conn: HashMap<ConnId, HashSet<(WatchKind, String)>>,
}

/// WatcherType of removeWatches / checkWatches.
fn kinds_of_watcher_type(t: i32) -> &'static [WatchKind] {
    use WatchKind::*;
    match t {
        1 => &[Child],
        2 => &[Data],
        3 => &[Data, Child, Persistent, PersistentRecursive],
        _ => &[],
    }
}

impl Watches {
    pub fn add(&mut self, conn: ConnId, kind: WatchKind, path: &str) {
        self.tables.entry(kind).or_default().entry(path.to_string()).or_default().insert(conn);
        self.by_conn.entry(conn).or_default().insert((kind, path.to_string()));
    }

    fn drop_one(&mut self, conn: ConnId, kind: WatchKind, path: &str) -> bool {
        let Some(table) = self.tables.get_mut(&kind) else {
            return false;
        };
        let Some(set) = table.get_mut(path) else {
            return false;
        };
        let removed = set.remove(&conn);
        if set.is_empty() {
            table.remove(path);
        }
        if let Some(mine) = self.by_conn.get_mut(&conn) {
            mine.remove(&(kind, path.to_string()));
            if mine.is_empty() {
                self.by_conn.remove(&conn);
            }
        }
        removed
    }

    /// Forgets every watch of a closed connection.
    pub fn remove_conn(&mut self, conn: ConnId) {
        for (kind, path) in self.by_conn.remove(&conn).unwrap_or_default() {
            if let Some(table) = self.tables.get_mut(&kind) {
                if let Some(set) = table.get_mut(&path) {
                    set.remove(&conn);
                    if set.is_empty() {
                        table.remove(&path);
                    }
                }
            }
        }
    }

    /// Whether `conn` has a watch of WatcherType `watcher_type` on `path`;
    /// removes it (them) too when `remove` is set.
    pub fn remove(&mut self, conn: ConnId, path: &str, watcher_type: i32, remove: bool) -> bool {
        let mut found = false;
        for &kind in kinds_of_watcher_type(watcher_type) {
            let has = self.tables.get(&kind).and_then(|t| t.get(path)).is_some_and(|s| s.contains(&conn));
            if has && remove {
                self.drop_one(conn, kind, path);
            }
            found |= has;
        }
        found
    }

    /// The connections to notify of `event_type` on `path`; one-shot watches
    /// that fire are removed.
    pub fn trigger(&mut self, path: &str, event_type: i32) -> Vec<ConnId> {
        let mut out: Vec<ConnId> = Vec::new();
        let mut one_shot = Vec::new();
        if event_type != event::NODE_CHILDREN_CHANGED {
            one_shot.push(WatchKind::Data);
        }
        if event_type == event::NODE_CHILDREN_CHANGED || event_type == event::NODE_DELETED {
            one_shot.push(WatchKind::Child);
        }
        for kind in one_shot {
            let fired = self.tables.get_mut(&kind).and_then(|t| t.remove(path)).unwrap_or_default();
            for conn in fired {
                if let Some(mine) = self.by_conn.get_mut(&conn) {
                    mine.remove(&(kind, path.to_string()));
                    if mine.is_empty() {
                        self.by_conn.remove(&conn);
                    }
                }
                out.push(conn);
            }
        }
        if let Some(set) = self.tables.get(&WatchKind::Persistent).and_then(|t| t.get(path)) {
            out.extend(set);
        }
        if event_type != event::NODE_CHILDREN_CHANGED {
            if let Some(table) = self.tables.get(&WatchKind::PersistentRecursive) {
                let mut prefix = path;
                loop {
                    if let Some(set) = table.get(prefix) {
                        out.extend(set);
                    }
                    if prefix == "/" {
                        break;
                    }
                    prefix = crate::tree::parent_of(prefix);
                }
            }
        }
        let mut seen = HashSet::new();
        out.retain(|c| seen.insert(*c));
        out
    }

    /// (connections watching, watched paths, total watches) for `wchs`.
    pub fn summary(&self) -> (usize, usize, usize) {
        let paths: HashSet<&String> = self.tables.values().flat_map(|t| t.keys()).collect();
        let total = self.by_conn.values().map(|s| s.len()).sum();
        (self.by_conn.len(), paths.len(), total)
    }

    /// The watched paths of each connection, for `wchc`.
    pub fn by_connection(&self) -> Vec<(ConnId, Vec<String>)> {
        let mut out: Vec<(ConnId, Vec<String>)> = self
            .by_conn
            .iter()
            .map(|(c, s)| {
                let mut paths: Vec<String> = s.iter().map(|(_, p)| p.clone()).collect();
                paths.sort();
                paths.dedup();
                (*c, paths)
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use WatchKind::*;

    #[test]
    fn one_shot_watches_fire_once() {
        let mut w = Watches::default();
        w.add(1, Data, "/a");
        w.add(2, Child, "/a");
        assert_eq!(w.trigger("/a", event::NODE_DATA_CHANGED), vec![1]);
        assert!(w.trigger("/a", event::NODE_DATA_CHANGED).is_empty());
        assert_eq!(w.trigger("/a", event::NODE_CHILDREN_CHANGED), vec![2]);
        assert_eq!(w.summary(), (0, 0, 0));
    }

    #[test]
    fn delete_fires_data_and_child_watches_once_per_connection() {
        let mut w = Watches::default();
        w.add(1, Data, "/a");
        w.add(1, Child, "/a");
        assert_eq!(w.trigger("/a", event::NODE_DELETED), vec![1]);
    }

    #[test]
    fn persistent_and_recursive() {
        let mut w = Watches::default();
        w.add(1, Persistent, "/a");
        w.add(2, PersistentRecursive, "/");
        assert_eq!(w.trigger("/a", event::NODE_CHILDREN_CHANGED), vec![1]);
        assert_eq!(w.trigger("/a", event::NODE_DATA_CHANGED), vec![1, 2]);
        assert_eq!(w.trigger("/a/b/c", event::NODE_CREATED), vec![2]);
        assert_eq!(w.trigger("/a", event::NODE_DATA_CHANGED), vec![1, 2], "they stay");
    }

    #[test]
    fn remove_and_check() {
        let mut w = Watches::default();
        w.add(1, Data, "/a");
        w.add(1, Child, "/a");
        assert!(w.remove(1, "/a", 1, false));
        assert!(w.remove(1, "/a", 1, true));
        assert!(!w.remove(1, "/a", 1, false));
        assert!(w.remove(1, "/a", 3, true));
        assert!(!w.remove(1, "/a", 2, false));
        w.add(3, Data, "/b");
        w.remove_conn(3);
        assert!(w.trigger("/b", event::NODE_DELETED).is_empty());
    }
}
