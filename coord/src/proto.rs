//! ZooKeeper's request and response records, opcodes, error codes and
//! watch event types, as the Java client and kazoo put them on the wire.

use crate::jute::{DecodeError, DecodeResult, Reader, Writer};

/// Opcodes (ZooDefs.OpCode).
pub mod op {
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const EXISTS: i32 = 3;
    pub const GET_DATA: i32 = 4;
    pub const SET_DATA: i32 = 5;
    pub const GET_ACL: i32 = 6;
    pub const SET_ACL: i32 = 7;
    pub const GET_CHILDREN: i32 = 8;
    pub const SYNC: i32 = 9;
    pub const PING: i32 = 11;
    pub const GET_CHILDREN2: i32 = 12;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const CHECK_WATCHES: i32 = 17;
    pub const REMOVE_WATCHES: i32 = 18;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const CREATE_TTL: i32 = 21;
    pub const MULTI_READ: i32 = 22;
    pub const AUTH: i32 = 100;
    pub const SET_WATCHES: i32 = 101;
    pub const GET_EPHEMERALS: i32 = 103;
    pub const GET_ALL_CHILDREN_NUMBER: i32 = 104;
    pub const SET_WATCHES2: i32 = 105;
    pub const ADD_WATCH: i32 = 106;
    pub const WHO_AM_I: i32 = 107;
    pub const CLOSE_SESSION: i32 = -11;
    pub const ERROR: i32 = -1;
}

/// Special xids the client uses.
pub mod xid {
    pub const NOTIFICATION: i32 = -1;
    pub const PING: i32 = -2;
    pub const AUTH: i32 = -4;
    pub const SET_WATCHES: i32 = -8;
}

/// KeeperException.Code values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrCode {
    Ok = 0,
    SystemError = -1,
    RuntimeInconsistency = -2,
    MarshallingError = -5,
    Unimplemented = -6,
    BadArguments = -8,
    ApiError = -100,
    NoNode = -101,
    NoAuth = -102,
    BadVersion = -103,
    NoChildrenForEphemerals = -108,
    NodeExists = -110,
    NotEmpty = -111,
    SessionExpired = -112,
    InvalidAcl = -114,
    AuthFailed = -115,
    NoWatcher = -121,
}

impl ErrCode {
    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i32) -> ErrCode {
        use ErrCode::*;
        [
            Ok,
            SystemError,
            RuntimeInconsistency,
            MarshallingError,
            Unimplemented,
            BadArguments,
            ApiError,
            NoNode,
            NoAuth,
            BadVersion,
            NoChildrenForEphemerals,
            NodeExists,
            NotEmpty,
            SessionExpired,
            InvalidAcl,
            AuthFailed,
            NoWatcher,
        ]
        .into_iter()
        .find(|e| e.code() == code)
        .unwrap_or(SystemError)
    }
}

/// Watcher.Event.EventType.
pub mod event {
    pub const NODE_CREATED: i32 = 1;
    pub const NODE_DELETED: i32 = 2;
    pub const NODE_DATA_CHANGED: i32 = 3;
    pub const NODE_CHILDREN_CHANGED: i32 = 4;
    pub const DATA_WATCH_REMOVED: i32 = 5;
    pub const CHILD_WATCH_REMOVED: i32 = 6;
    pub const PERSISTENT_WATCH_REMOVED: i32 = 7;
}

/// Watcher.Event.KeeperState values we send.
pub const STATE_SYNC_CONNECTED: i32 = 3;

/// ZooDefs.Perms.
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 2;
    pub const CREATE: i32 = 4;
    pub const DELETE: i32 = 8;
    pub const ADMIN: i32 = 16;
    pub const ALL: i32 = 31;
}

/// `ephemeralOwner` of a container node (EphemeralType.CONTAINER).
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// TTL nodes keep their TTL in `ephemeralOwner` under this top byte.
pub const TTL_OWNER_MASK: i64 = (0xFFu64 << 56) as i64;
/// Largest TTL that fits in the owner field.
pub const MAX_TTL: i64 = (1 << 40) - 1;

pub fn ttl_owner(ttl: i64) -> i64 {
    TTL_OWNER_MASK | ttl
}

/// The TTL of a node, if its owner field marks it as a TTL node.
pub fn owner_ttl(owner: i64) -> Option<i64> {
    ((owner as u64) >> 56 == 0xFF && owner != -1).then_some(owner & MAX_TTL)
}

/// CreateMode, decoded from the request's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateMode {
    pub ephemeral: bool,
    pub sequential: bool,
    pub container: bool,
    pub ttl: bool,
}

impl CreateMode {
    pub fn from_flags(flags: i32) -> Option<CreateMode> {
        let m = |ephemeral, sequential, container, ttl| CreateMode { ephemeral, sequential, container, ttl };
        Some(match flags {
            0 => m(false, false, false, false),
            1 => m(true, false, false, false),
            2 => m(false, true, false, false),
            3 => m(true, true, false, false),
            4 => m(false, false, true, false),
            5 => m(false, false, false, true),
            6 => m(false, true, false, true),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Id {
    pub scheme: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acl {
    pub perms: i32,
    pub id: Id,
}

impl Acl {
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl { perms: perms::ALL, id: Id { scheme: "world".into(), id: "anyone".into() } }]
    }

    pub fn read(r: &mut Reader) -> DecodeResult<Acl> {
        Ok(Acl { perms: r.int()?, id: Id { scheme: r.string()?, id: r.string()? } })
    }

    pub fn read_all(r: &mut Reader) -> DecodeResult<Vec<Acl>> {
        r.vec(Acl::read)
    }

    pub fn write_all(w: &mut Writer, acl: &[Acl]) {
        w.int(acl.len() as i32);
        for a in acl {
            w.int(a.perms).string(&a.id.scheme).string(&a.id.id);
        }
    }
}

/// A znode's Stat, in jute field order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: i64,
}

impl Stat {
    pub fn write(&self, w: &mut Writer) {
        w.long(self.czxid).long(self.mzxid).long(self.ctime).long(self.mtime);
        w.int(self.version).int(self.cversion).int(self.aversion);
        w.long(self.ephemeral_owner).int(self.data_length).int(self.num_children).long(self.pzxid);
    }

    pub fn read(r: &mut Reader) -> DecodeResult<Stat> {
        Ok(Stat {
            czxid: r.long()?,
            mzxid: r.long()?,
            ctime: r.long()?,
            mtime: r.long()?,
            version: r.int()?,
            cversion: r.int()?,
            aversion: r.int()?,
            ephemeral_owner: r.long()?,
            data_length: r.int()?,
            num_children: r.int()?,
            pzxid: r.long()?,
        })
    }
}

/// The first frame of a client connection.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub timeout_ms: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    /// `None` for old clients that do not send the flag at all.
    pub read_only: Option<bool>,
}

impl ConnectRequest {
    pub fn decode(buf: &[u8]) -> DecodeResult<ConnectRequest> {
        let mut r = Reader::new(buf);
        let mut req = ConnectRequest {
            protocol_version: r.int()?,
            last_zxid_seen: r.long()?,
            timeout_ms: r.int()?,
            session_id: r.long()?,
            passwd: r.buffer()?,
            read_only: None,
        };
        if r.remaining() > 0 {
            req.read_only = Some(r.bool()?);
        }
        Ok(req)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::framed();
        w.int(self.protocol_version).long(self.last_zxid_seen).int(self.timeout_ms);
        w.long(self.session_id).buffer(&self.passwd).bool(self.read_only.unwrap_or(false));
        w.into_frame()
    }
}

/// How a watch registered by addWatch behaves (AddWatchMode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchKind {
    Data,
    Child,
    Persistent,
    PersistentRecursive,
}

#[derive(Debug, Clone, Default)]
pub struct SetWatchLists {
    pub data: Vec<String>,
    pub exist: Vec<String>,
    pub child: Vec<String>,
    pub persistent: Vec<String>,
    pub recursive: Vec<String>,
}

/// One client operation, decoded from a request frame (after the header).
#[derive(Debug, Clone)]
pub enum Request {
    Create {
        path: String,
        data: Vec<u8>,
        acl: Vec<Acl>,
        flags: i32,
        ttl: i64,
        opcode: i32,
    },
    Delete {
        path: String,
        version: i32,
    },
    Exists {
        path: String,
        watch: bool,
    },
    GetData {
        path: String,
        watch: bool,
    },
    SetData {
        path: String,
        data: Vec<u8>,
        version: i32,
    },
    GetAcl {
        path: String,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    GetChildren {
        path: String,
        watch: bool,
        with_stat: bool,
    },
    Sync {
        path: String,
    },
    Ping,
    Check {
        path: String,
        version: i32,
    },
    Multi(Vec<Request>),
    MultiRead(Vec<Request>),
    CloseSession,
    Auth {
        scheme: String,
        auth: Vec<u8>,
    },
    /// setWatches / setWatches2 after a reconnect: the client's watches, and
    /// the last zxid it saw so that changes it missed fire at once.
    SetWatches {
        relative_zxid: i64,
        lists: SetWatchLists,
    },
    GetAllChildrenNumber {
        path: String,
    },
    GetEphemerals {
        prefix: String,
    },
    AddWatch {
        path: String,
        recursive: bool,
    },
    /// removeWatches and checkWatches; `kind` is WatcherType (1 children, 2 data, 3 any).
    RemoveWatches {
        path: String,
        kind: i32,
        remove: bool,
    },
    WhoAmI,
    Unknown(i32),
}

impl Request {
    /// Decodes the body of a request of type `opcode`.
    pub fn decode(opcode: i32, r: &mut Reader) -> DecodeResult<Request> {
        use op::*;
        Ok(match opcode {
            CREATE | CREATE2 | CREATE_CONTAINER | CREATE_TTL => {
                let (path, data, acl, flags) = (r.string()?, r.buffer()?, Acl::read_all(r)?, r.int()?);
                let ttl = if opcode == CREATE_TTL { r.long()? } else { -1 };
                Request::Create { path, data, acl, flags, ttl, opcode }
            }
            DELETE => Request::Delete { path: r.string()?, version: r.int()? },
            EXISTS => Request::Exists { path: r.string()?, watch: r.bool()? },
            GET_DATA => Request::GetData { path: r.string()?, watch: r.bool()? },
            SET_DATA => Request::SetData { path: r.string()?, data: r.buffer()?, version: r.int()? },
            GET_ACL => Request::GetAcl { path: r.string()? },
            SET_ACL => Request::SetAcl { path: r.string()?, acl: Acl::read_all(r)?, version: r.int()? },
            GET_CHILDREN | GET_CHILDREN2 => {
                Request::GetChildren { path: r.string()?, watch: r.bool()?, with_stat: opcode == GET_CHILDREN2 }
            }
            SYNC => Request::Sync { path: r.string()? },
            PING => Request::Ping,
            CHECK => Request::Check { path: r.string()?, version: r.int()? },
            MULTI | MULTI_READ => {
                let ops = decode_multi(r)?;
                if opcode == MULTI {
                    Request::Multi(ops)
                } else {
                    Request::MultiRead(ops)
                }
            }
            CLOSE_SESSION => Request::CloseSession,
            AUTH => {
                let _type = r.int()?;
                Request::Auth { scheme: r.string()?, auth: r.buffer()? }
            }
            SET_WATCHES | SET_WATCHES2 => {
                let relative_zxid = r.long()?;
                let mut lists = SetWatchLists {
                    data: r.strings()?,
                    exist: r.strings()?,
                    child: r.strings()?,
                    ..Default::default()
                };
                if opcode == SET_WATCHES2 {
                    lists.persistent = r.strings()?;
                    lists.recursive = r.strings()?;
                }
                Request::SetWatches { relative_zxid, lists }
            }
            GET_ALL_CHILDREN_NUMBER => Request::GetAllChildrenNumber { path: r.string()? },
            GET_EPHEMERALS => Request::GetEphemerals { prefix: r.string()? },
            ADD_WATCH => {
                let path = r.string()?;
                let recursive = match r.int()? {
                    0 => false,
                    1 => true,
                    _ => return Err(DecodeError("unknown addWatch mode")),
                };
                Request::AddWatch { path, recursive }
            }
            REMOVE_WATCHES | CHECK_WATCHES => {
                Request::RemoveWatches { path: r.string()?, kind: r.int()?, remove: opcode == REMOVE_WATCHES }
            }
            WHO_AM_I => Request::WhoAmI,
            other => Request::Unknown(other),
        })
    }

    /// Whether the request changes state and so goes through the log.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Request::Create { .. }
                | Request::Delete { .. }
                | Request::SetData { .. }
                | Request::SetAcl { .. }
                | Request::Multi(_)
                | Request::Check { .. }
                | Request::CloseSession
        )
    }

    /// The opcode a multi result header carries for this operation.
    pub fn opcode(&self) -> i32 {
        match self {
            Request::Create { opcode, .. } => *opcode,
            Request::Delete { .. } => op::DELETE,
            Request::SetData { .. } => op::SET_DATA,
            Request::Check { .. } => op::CHECK,
            Request::GetData { .. } => op::GET_DATA,
            Request::GetChildren { .. } => op::GET_CHILDREN,
            _ => op::ERROR,
        }
    }
}

/// The operations of a multi / multiRead: MultiHeader + record pairs ended
/// by a header with `done` set.
fn decode_multi(r: &mut Reader) -> DecodeResult<Vec<Request>> {
    let mut ops = Vec::new();
    loop {
        let (opcode, done, _err) = (r.int()?, r.bool()?, r.int()?);
        if done {
            return Ok(ops);
        }
        let allowed = [
            op::CREATE,
            op::CREATE2,
            op::CREATE_CONTAINER,
            op::CREATE_TTL,
            op::DELETE,
            op::SET_DATA,
            op::CHECK,
            op::GET_DATA,
            op::GET_CHILDREN,
        ];
        if !allowed.contains(&opcode) {
            return Err(DecodeError("operation not allowed in multi"));
        }
        // GetData / GetChildren in multiRead carry a watch flag like the plain requests.
        ops.push(Request::decode(opcode, r)?);
    }
}

/// Writes a reply header at the start of a framed response.
pub fn reply_header(xid: i32, zxid: i64, err: ErrCode) -> Writer {
    let mut w = Writer::framed();
    w.int(xid).long(zxid).int(err.code());
    w
}

/// A watch notification frame.
pub fn watch_event_frame(event_type: i32, path: &str) -> Vec<u8> {
    // ZooKeeper 3.8 puts zxid -1 in notification headers.
    let mut w = reply_header(xid::NOTIFICATION, -1, ErrCode::Ok);
    w.int(event_type).int(STATE_SYNC_CONNECTED).string(path);
    w.into_frame()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_modes_follow_zookeeper_flags() {
        assert_eq!(
            CreateMode::from_flags(3).unwrap(),
            CreateMode { ephemeral: true, sequential: true, container: false, ttl: false }
        );
        assert!(CreateMode::from_flags(4).unwrap().container);
        assert!(CreateMode::from_flags(6).unwrap().ttl);
        assert!(CreateMode::from_flags(7).is_none());
    }

    #[test]
    fn ttl_owner_round_trips() {
        assert_eq!(owner_ttl(ttl_owner(5000)), Some(5000));
        assert_eq!(owner_ttl(0), None);
        assert_eq!(owner_ttl(CONTAINER_OWNER), None);
        assert_eq!(owner_ttl(0x1234), None);
    }

    #[test]
    fn decodes_a_multi() {
        let mut w = Writer::new();
        w.int(op::CREATE).bool(false).int(-1);
        w.string("/a").buffer(b"x");
        Acl::write_all(&mut w, &Acl::open_unsafe());
        w.int(0);
        w.int(op::DELETE).bool(false).int(-1).string("/b").int(3);
        w.int(-1).bool(true).int(-1);
        let req = Request::decode(op::MULTI, &mut Reader::new(&w.buf)).unwrap();
        let Request::Multi(ops) = req else { panic!("not a multi") };
        assert_eq!(ops.len(), 2);
        assert!(matches!(&ops[1], Request::Delete { path, version: 3 } if path == "/b"));
    }

    #[test]
    fn rejects_a_ping_inside_a_multi() {
        let mut w = Writer::new();
        w.int(op::PING).bool(false).int(-1);
        assert!(Request::decode(op::MULTI, &mut Reader::new(&w.buf)).is_err());
    }
}
