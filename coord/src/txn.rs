//! Transactions: what the prepare step computes from a request and the apply
//! step performs on the tree. They carry every value apply needs (final
//! sequential path, owner, new versions), so replaying the log rebuilds
//! exactly the same tree.

use crate::jute::{DecodeError, DecodeResult, Reader, Writer};
use crate::proto::Acl;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnHeader {
    pub session: i64,
    pub cxid: i32,
    pub zxid: i64,
    /// Wall-clock milliseconds when the leader (here: the server) prepared it.
    pub time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Txn {
    CreateSession {
        timeout_ms: i32,
    },
    CloseSession,
    Create {
        path: String,
        data: Vec<u8>,
        acl: Vec<Acl>,
        owner: i64,
        parent_cversion: i32,
    },
    Delete {
        path: String,
    },
    SetData {
        path: String,
        data: Vec<u8>,
        version: i32,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        aversion: i32,
    },
    Check {
        path: String,
    },
    Multi(Vec<Txn>),
    /// A write that failed in prepare; it still takes a zxid, as in ZooKeeper.
    Error(i32),
}

mod tag {
    pub const CREATE_SESSION: u8 = 1;
    pub const CLOSE_SESSION: u8 = 2;
    pub const CREATE: u8 = 3;
    pub const DELETE: u8 = 4;
    pub const SET_DATA: u8 = 5;
    pub const SET_ACL: u8 = 6;
    pub const CHECK: u8 = 7;
    pub const MULTI: u8 = 8;
    pub const ERROR: u8 = 9;
}

impl Txn {
    pub fn write(&self, w: &mut Writer) {
        let tag = |w: &mut Writer, t: u8| w.buf.push(t);
        match self {
            Txn::CreateSession { timeout_ms } => {
                tag(w, tag::CREATE_SESSION);
                w.int(*timeout_ms);
            }
            Txn::CloseSession => tag(w, tag::CLOSE_SESSION),
            Txn::Create { path, data, acl, owner, parent_cversion } => {
                tag(w, tag::CREATE);
                w.string(path).buffer(data);
                Acl::write_all(w, acl);
                w.long(*owner).int(*parent_cversion);
            }
            Txn::Delete { path } => {
                tag(w, tag::DELETE);
                w.string(path);
            }
            Txn::SetData { path, data, version } => {
                tag(w, tag::SET_DATA);
                w.string(path).buffer(data).int(*version);
            }
            Txn::SetAcl { path, acl, aversion } => {
                tag(w, tag::SET_ACL);
                w.string(path);
                Acl::write_all(w, acl);
                w.int(*aversion);
            }
            Txn::Check { path } => {
                tag(w, tag::CHECK);
                w.string(path);
            }
            Txn::Multi(txns) => {
                tag(w, tag::MULTI);
                w.int(txns.len() as i32);
                for t in txns {
                    t.write(w);
                }
            }
            Txn::Error(code) => {
                tag(w, tag::ERROR);
                w.int(*code);
            }
        }
    }

    pub fn read(r: &mut Reader) -> DecodeResult<Txn> {
        Ok(match r.byte()? {
            tag::CREATE_SESSION => Txn::CreateSession { timeout_ms: r.int()? },
            tag::CLOSE_SESSION => Txn::CloseSession,
            tag::CREATE => Txn::Create {
                path: r.string()?,
                data: r.buffer()?,
                acl: Acl::read_all(r)?,
                owner: r.long()?,
                parent_cversion: r.int()?,
            },
            tag::DELETE => Txn::Delete { path: r.string()? },
            tag::SET_DATA => Txn::SetData { path: r.string()?, data: r.buffer()?, version: r.int()? },
            tag::SET_ACL => Txn::SetAcl { path: r.string()?, acl: Acl::read_all(r)?, aversion: r.int()? },
            tag::CHECK => Txn::Check { path: r.string()? },
            tag::MULTI => Txn::Multi(r.vec(Txn::read)?),
            tag::ERROR => Txn::Error(r.int()?),
            _ => return Err(DecodeError("unknown transaction type")),
        })
    }
}

impl TxnHeader {
    pub fn write(&self, w: &mut Writer) {
        w.long(self.session).int(self.cxid).long(self.zxid).long(self.time);
    }

    pub fn read(r: &mut Reader) -> DecodeResult<TxnHeader> {
        Ok(TxnHeader { session: r.long()?, cxid: r.int()?, zxid: r.long()?, time: r.long()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let txn = Txn::Multi(vec![
            Txn::CreateSession { timeout_ms: 4000 },
            Txn::CloseSession,
            Txn::Create { path: "/a".into(), data: vec![1, 2], acl: Acl::open_unsafe(), owner: 9, parent_cversion: 3 },
            Txn::Delete { path: "/a".into() },
            Txn::SetData { path: "/b".into(), data: vec![], version: 2 },
            Txn::SetAcl { path: "/b".into(), acl: vec![], aversion: 1 },
            Txn::Check { path: "/c".into() },
            Txn::Error(-101),
        ]);
        let mut w = Writer::new();
        txn.write(&mut w);
        assert_eq!(Txn::read(&mut Reader::new(&w.buf)).unwrap(), txn);
    }

    #[test]
    fn unknown_tag_is_an_error() {
        assert!(Txn::read(&mut Reader::new(&[77])).is_err());
    }
}
