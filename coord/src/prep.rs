//! The prepare step (ZooKeeper's PrepRequestProcessor): validate a write,
//! check its ACL and versions, and compute the transaction. Within a multi
//! each operation sees the effects of the ones before it through an overlay
//! of pending changes, so the tree itself is only touched by apply.

use crate::acl::Identity;
use crate::proto::{self, ttl_owner, Acl, CreateMode, ErrCode, Request, Stat, CONTAINER_OWNER, MAX_TTL};
use crate::tree::{parent_of, DataTree};
use crate::txn::Txn;
use std::collections::HashMap;

/// The parts of a node prepare looks at.
#[derive(Clone)]
struct Meta {
    stat: Stat,
    acl: Vec<Acl>,
}

pub struct Prep<'a> {
    tree: &'a DataTree,
    who: &'a Identity,
    session: i64,
    /// Changes made by earlier operations of the same multi; `None` = deleted.
    pending: HashMap<String, Option<Meta>>,
}

/// ZooKeeper's PathUtils.validatePath.
pub fn validate_path(path: &str, sequential: bool) -> Result<(), ErrCode> {
    let bad = Err(ErrCode::BadArguments);
    if !path.starts_with('/') {
        return bad;
    }
    if path.len() == 1 {
        return if sequential { bad } else { Ok(()) };
    }
    if path.ends_with('/') && !sequential {
        return bad;
    }
    let body = if sequential { path.trim_end_matches('/') } else { path };
    for segment in body[1..].split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return bad;
        }
    }
    let forbidden = |c: char| {
        c == '\0'
            || ('\u{1}'..='\u{1f}').contains(&c)
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || ('\u{e000}'..='\u{f8ff}').contains(&c)
            || ('\u{fff0}'..='\u{ffff}').contains(&c)
    };
    if path.chars().any(forbidden) {
        return bad;
    }
    Ok(())
}

/// Paths no client may delete (ZKDatabase.isSpecialPath).
fn is_special(path: &str) -> bool {
    matches!(path, "/" | "/zookeeper" | "/zookeeper/quota" | "/zookeeper/config")
}

fn check_version(expected: i32, current: i32) -> Result<i32, ErrCode> {
    if expected != -1 && expected != current {
        return Err(ErrCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}

impl<'a> Prep<'a> {
    pub fn new(tree: &'a DataTree, who: &'a Identity, session: i64) -> Self {
        Prep { tree, who, session, pending: HashMap::new() }
    }

    fn meta(&self, path: &str) -> Result<Meta, ErrCode> {
        let found = match self.pending.get(path) {
            Some(m) => m.clone(),
            None => self.tree.get(path).map(|n| Meta { stat: n.stat, acl: n.acl.clone() }),
        };
        found.ok_or(ErrCode::NoNode)
    }

    /// Prepares one write request into its transaction, or the error the
    /// client gets.
    pub fn prepare(&mut self, req: &Request, now_ms: i64) -> Result<Txn, ErrCode> {
        match req {
            Request::Create { path, data, acl, flags, ttl, opcode } => {
                self.create(path, data, acl, *flags, *ttl, *opcode)
            }
            Request::Delete { path, version } => self.delete(path, *version),
            Request::SetData { path, data, version } => {
                validate_path(path, false)?;
                let mut m = self.meta(path)?;
                self.who.check(&m.acl, proto::perms::WRITE)?;
                let version = check_version(*version, m.stat.version)?;
                m.stat.version = version;
                m.stat.data_length = data.len() as i32;
                m.stat.mtime = now_ms;
                self.pending.insert(path.clone(), Some(m));
                Ok(Txn::SetData { path: path.clone(), data: data.clone(), version })
            }
            Request::SetAcl { path, acl, version } => {
                validate_path(path, false)?;
                let acl = self.who.fix_acl(acl)?;
                let mut m = self.meta(path)?;
                self.who.check(&m.acl, proto::perms::ADMIN)?;
                let aversion = check_version(*version, m.stat.aversion)?;
                m.stat.aversion = aversion;
                m.acl = acl.clone();
                self.pending.insert(path.clone(), Some(m));
                Ok(Txn::SetAcl { path: path.clone(), acl, aversion })
            }
            Request::Check { path, version } => {
                validate_path(path, false)?;
                let m = self.meta(path)?;
                self.who.check(&m.acl, proto::perms::READ)?;
                check_version(*version, m.stat.version)?;
                Ok(Txn::Check { path: path.clone() })
            }
            Request::CloseSession => Ok(Txn::CloseSession),
            Request::Multi(ops) => Ok(self.multi(ops, now_ms)),
            _ => Err(ErrCode::Unimplemented),
        }
    }

    /// All operations or none: on the first failure every operation is
    /// reported, OK before it, its own error, RuntimeInconsistency after.
    fn multi(&mut self, ops: &[Request], now_ms: i64) -> Txn {
        let mut txns = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let prepared = match op {
                Request::Multi(_) | Request::CloseSession => Err(ErrCode::BadArguments),
                _ => self.prepare(op, now_ms),
            };
            match prepared {
                Ok(t) => txns.push(t),
                Err(e) => {
                    let mut codes = vec![Txn::Error(ErrCode::Ok.code()); i];
                    codes.push(Txn::Error(e.code()));
                    codes.resize(ops.len(), Txn::Error(ErrCode::RuntimeInconsistency.code()));
                    return Txn::Multi(codes);
                }
            }
        }
        Txn::Multi(txns)
    }

    fn create(
        &mut self,
        path: &str,
        data: &[u8],
        acl: &[Acl],
        flags: i32,
        ttl: i64,
        opcode: i32,
    ) -> Result<Txn, ErrCode> {
        let mode = CreateMode::from_flags(flags).ok_or(ErrCode::BadArguments)?;
        // As in ZooKeeper the flags decide the mode, whatever the create
        // opcode; only a TTL needs the createTTL request that carries it.
        if mode.ttl != (opcode == proto::op::CREATE_TTL) {
            return Err(ErrCode::BadArguments);
        }
        if mode.ttl && !(1..=MAX_TTL).contains(&ttl) {
            return Err(ErrCode::BadArguments);
        }
        validate_path(path, mode.sequential)?;
        let parent_path = parent_of(path).to_string();
        let acl = self.who.fix_acl(acl)?;
        let mut parent = self.meta(&parent_path)?;
        self.who.check(&parent.acl, proto::perms::CREATE)?;
        let path = if mode.sequential { format!("{path}{:010}", parent.stat.cversion) } else { path.to_string() };
        validate_path(&path, false)?;
        if self.meta(&path).is_ok() {
            return Err(ErrCode::NodeExists);
        }
        let parent_owner = parent.stat.ephemeral_owner;
        if parent_owner != 0 && parent_owner != CONTAINER_OWNER && proto::owner_ttl(parent_owner).is_none() {
            return Err(ErrCode::NoChildrenForEphemerals);
        }
        let owner = if mode.ephemeral {
            self.session
        } else if mode.container {
            CONTAINER_OWNER
        } else if mode.ttl {
            ttl_owner(ttl)
        } else {
            0
        };
        parent.stat.cversion += 1;
        parent.stat.num_children += 1;
        let parent_cversion = parent.stat.cversion;
        self.pending.insert(parent_path, Some(parent));
        let stat = Stat { ephemeral_owner: owner, data_length: data.len() as i32, ..Stat::default() };
        self.pending.insert(path.clone(), Some(Meta { stat, acl: acl.clone() }));
        Ok(Txn::Create { path, data: data.to_vec(), acl, owner, parent_cversion })
    }

    fn delete(&mut self, path: &str, version: i32) -> Result<Txn, ErrCode> {
        validate_path(path, false)?;
        if is_special(path) {
            return Err(ErrCode::BadArguments);
        }
        let parent_path = parent_of(path).to_string();
        let mut parent = self.meta(&parent_path)?;
        self.who.check(&parent.acl, proto::perms::DELETE)?;
        let node = self.meta(path)?;
        check_version(version, node.stat.version)?;
        if node.stat.num_children > 0 {
            return Err(ErrCode::NotEmpty);
        }
        parent.stat.num_children -= 1;
        self.pending.insert(parent_path, Some(parent));
        self.pending.insert(path.to_string(), None);
        Ok(Txn::Delete { path: path.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::op;
    use crate::txn::TxnHeader;

    fn anyone() -> Identity {
        Identity { addr: "127.0.0.1".parse().unwrap(), ids: vec![] }
    }

    fn create_req(path: &str, flags: i32) -> Request {
        Request::Create {
            path: path.into(),
            data: b"d".to_vec(),
            acl: Acl::open_unsafe(),
            flags,
            ttl: -1,
            opcode: op::CREATE,
        }
    }

    fn run(tree: &mut DataTree, req: &Request, zxid: i64) -> Result<Txn, ErrCode> {
        let who = anyone();
        let txn = Prep::new(tree, &who, 0x42).prepare(req, 0)?;
        tree.apply(&TxnHeader { session: 0x42, cxid: 0, zxid, time: 0 }, &txn, &mut Vec::new());
        Ok(txn)
    }

    #[test]
    fn validates_paths_like_zookeeper() {
        assert!(validate_path("/", false).is_ok());
        assert!(validate_path("/a/b", false).is_ok());
        assert!(validate_path("/a/", true).is_ok());
        for bad in ["", "a", "/a/", "//a", "/a//b", "/a/./b", "/a/..", "/a\0"] {
            assert_eq!(validate_path(bad, false), Err(ErrCode::BadArguments), "{bad:?}");
        }
    }

    #[test]
    fn sequential_names_use_the_parent_cversion() {
        let mut t = DataTree::new();
        run(&mut t, &create_req("/q", 0), 1).unwrap();
        let Txn::Create { path, .. } = run(&mut t, &create_req("/q/n-", 2), 2).unwrap() else { panic!() };
        assert_eq!(path, "/q/n-0000000000");
        run(&mut t, &Request::Delete { path: path.clone(), version: -1 }, 3).unwrap();
        let Txn::Create { path, .. } = run(&mut t, &create_req("/q/n-", 2), 4).unwrap() else { panic!() };
        assert_eq!(path, "/q/n-0000000001", "deletes leave cversion alone, as in ZooKeeper");
    }

    #[test]
    fn error_codes() {
        let mut t = DataTree::new();
        assert_eq!(run(&mut t, &create_req("/x/y", 0), 1).unwrap_err(), ErrCode::NoNode);
        run(&mut t, &create_req("/x", 0), 2).unwrap();
        assert_eq!(run(&mut t, &create_req("/x", 0), 3).unwrap_err(), ErrCode::NodeExists);
        run(&mut t, &create_req("/x/y", 0), 4).unwrap();
        assert_eq!(run(&mut t, &Request::Delete { path: "/x".into(), version: -1 }, 5).unwrap_err(), ErrCode::NotEmpty);
        assert_eq!(
            run(&mut t, &Request::Delete { path: "/x/y".into(), version: 7 }, 6).unwrap_err(),
            ErrCode::BadVersion
        );
        assert_eq!(
            run(&mut t, &Request::Delete { path: "/zookeeper".into(), version: -1 }, 6).unwrap_err(),
            ErrCode::BadArguments
        );
        run(&mut t, &create_req("/e", 1), 7).unwrap();
        assert_eq!(run(&mut t, &create_req("/e/c", 0), 8).unwrap_err(), ErrCode::NoChildrenForEphemerals);
        assert_eq!(run(&mut t, &create_req("/bad", 9), 9).unwrap_err(), ErrCode::BadArguments);
        let set = Request::SetData { path: "/x".into(), data: vec![], version: 0 };
        run(&mut t, &set, 10).unwrap();
        assert_eq!(run(&mut t, &set, 11).unwrap_err(), ErrCode::BadVersion);
    }

    #[test]
    fn multi_sees_its_own_earlier_ops_and_fails_as_a_whole() {
        let mut t = DataTree::new();
        let ok = Request::Multi(vec![
            create_req("/m", 0),
            create_req("/m/c", 0),
            Request::Check { path: "/m/c".into(), version: 0 },
        ]);
        let Txn::Multi(txns) = run(&mut t, &ok, 1).unwrap() else { panic!() };
        assert_eq!(txns.len(), 3);
        assert!(t.get("/m/c").is_some());
        let bad = Request::Multi(vec![create_req("/n", 0), create_req("/m", 0), create_req("/o", 0)]);
        let txn = run(&mut t, &bad, 2).unwrap();
        assert_eq!(
            txn,
            Txn::Multi(vec![
                Txn::Error(0),
                Txn::Error(ErrCode::NodeExists.code()),
                Txn::Error(ErrCode::RuntimeInconsistency.code())
            ])
        );
        assert!(t.get("/n").is_none());
    }
}
