//! The request processor: one thread that owns the tree, the sessions and
//! the watches, and runs every request through prepare → log → apply, then
//! queues the reply behind the log's fsync (see [`crate::commit`]).

use crate::acl::{digest_id, Identity};
use crate::commit::{CommitQueue, OutMsg, OutTx};
use crate::config::Config;
use crate::fourlw::{self, ConnInfo, ServerView};
use crate::jute::Writer;
use crate::prep::{validate_path, Prep};
use crate::proto::{self, op, reply_header, xid, Acl, ConnectRequest, ErrCode, Id, Request, SetWatchLists, WatchKind};
use crate::sessions::Sessions;
use crate::tree::{DataTree, TxnResult};
use crate::txn::{Txn, TxnHeader};
use crate::txnlog::encode_record;
use crate::watches::{ConnId, Watches};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub enum CoreMsg {
    Connect { conn: ConnId, req: ConnectRequest, addr: SocketAddr, out: OutTx },
    Request { conn: ConnId, xid: i32, req: Request },
    Closed { conn: ConnId },
    FourLetter { word: String, reply: tokio::sync::oneshot::Sender<String> },
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

struct Conn {
    session: i64,
    out: OutTx,
    addr: SocketAddr,
    who: Identity,
    received: u64,
    sent: u64,
}

pub struct Core {
    cfg: Arc<Config>,
    tree: DataTree,
    watches: Watches,
    sessions: Sessions,
    conns: HashMap<ConnId, Conn>,
    queue: CommitQueue,
    txns_since_snapshot: u64,
    snapshot_every: u64,
    received: u64,
    sent: u64,
    started: Instant,
}

/// The requests a multi result header names for each operation.
fn multi_result(w: &mut Writer, request_op: i32, result: &TxnResult) {
    match result {
        TxnResult::Created { path, stat } => {
            w.int(request_op).bool(false).int(0).string(path);
            if request_op != op::CREATE {
                stat.write(w);
            }
        }
        TxnResult::Deleted => {
            w.int(op::DELETE).bool(false).int(0);
        }
        TxnResult::Stat(stat) => {
            w.int(op::SET_DATA).bool(false).int(0);
            stat.write(w);
        }
        TxnResult::Checked => {
            w.int(op::CHECK).bool(false).int(0);
        }
        TxnResult::Error(code) => {
            w.int(op::ERROR).bool(false).int(*code).int(*code);
        }
        TxnResult::Session | TxnResult::Multi(_) => {
            w.int(op::ERROR).bool(false).int(ErrCode::SystemError.code()).int(ErrCode::SystemError.code());
        }
    }
}

fn end_multi(w: &mut Writer) {
    w.int(-1).bool(true).int(-1);
}

impl Core {
    pub fn new(cfg: Arc<Config>, tree: DataTree, queue: CommitQueue) -> Core {
        let mut sessions = Sessions::new(cfg.myid.unwrap_or(0), now_ms());
        let now = Instant::now();
        // Sessions from before the restart get a full timeout to come back.
        for (id, timeout) in &tree.sessions {
            sessions.add(*id, *timeout, now);
        }
        // ZooKeeper snapshots after snapCount/2 + a random share of it, so
        // the servers of an ensemble do not all snapshot at once.
        let half = cfg.snap_count / 2;
        let snapshot_every = half + rand::random::<u64>() % half.max(1);
        Core {
            cfg,
            tree,
            watches: Watches::default(),
            sessions,
            conns: HashMap::new(),
            queue,
            txns_since_snapshot: 0,
            snapshot_every,
            received: 0,
            sent: 0,
            started: Instant::now(),
        }
    }

    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// Runs until every sender is gone. Messages are taken in batches so the
    /// log can commit many transactions with one fsync.
    pub fn run(mut self, rx: Receiver<CoreMsg>) {
        let tick = Duration::from_millis((self.cfg.tick_ms / 2).clamp(10, 1000));
        let container_every = Duration::from_millis(self.cfg.container_check_ms);
        let mut next_tick = Instant::now() + tick;
        let mut next_container_check = Instant::now() + container_every;
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(msg) => {
                    self.handle(msg);
                    for msg in rx.try_iter().take(1024) {
                        self.handle(msg);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let now = Instant::now();
            if now >= next_tick {
                self.expire_sessions(now);
                next_tick = now + tick;
            }
            if now >= next_container_check {
                self.collect_containers_and_ttls();
                next_container_check = now + container_every;
            }
            self.queue.flush();
            if self.txns_since_snapshot >= self.snapshot_every {
                self.txns_since_snapshot = 0;
                self.queue.snapshot(self.tree.last_zxid + 1, crate::snapshot::serialize(&self.tree));
            }
        }
        self.queue.flush();
    }

    fn handle(&mut self, msg: CoreMsg) {
        match msg {
            CoreMsg::Connect { conn, req, addr, out } => self.connect(conn, req, addr, out),
            CoreMsg::Request { conn, xid, req } => self.request(conn, xid, req),
            CoreMsg::Closed { conn } => self.drop_conn(conn),
            CoreMsg::FourLetter { word, reply } => {
                let _ = reply.send(fourlw::render(&word, &self.view()));
            }
        }
    }

    fn send(&mut self, conn: ConnId, msg: OutMsg) {
        if let Some(c) = self.conns.get_mut(&conn) {
            if matches!(msg, OutMsg::Frame(_)) {
                c.sent += 1;
                self.sent += 1;
            }
            self.queue.send(&c.out, msg);
        }
    }

    /// Forgets a connection; its session lives on until it expires.
    fn drop_conn(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn) {
            self.watches.remove_conn(conn);
            if let Some(s) = self.sessions.get_mut(c.session) {
                if s.conn == Some(conn) {
                    s.conn = None;
                }
            }
        }
    }

    /// Prepare → log → apply for one write; returns the zxid and result.
    fn commit(&mut self, session: i64, cxid: i32, txn: Txn) -> (i64, TxnResult) {
        let hdr = TxnHeader { session, cxid, zxid: self.tree.last_zxid + 1, time: now_ms() };
        encode_record(self.queue.records(), &hdr, &txn);
        self.txns_since_snapshot += 1;
        let mut triggers = Vec::new();
        let result = self.tree.apply(&hdr, &txn, &mut triggers);
        for (path, event_type) in triggers {
            let frame = proto::watch_event_frame(event_type, &path);
            for conn in self.watches.trigger(&path, event_type) {
                self.send(conn, OutMsg::Frame(frame.clone()));
            }
        }
        (hdr.zxid, result)
    }

    fn connect(&mut self, conn: ConnId, req: ConnectRequest, addr: SocketAddr, out: OutTx) {
        let who = Identity { addr: addr.ip(), ids: Vec::new() };
        self.conns.insert(conn, Conn { session: 0, out, addr, who, received: 1, sent: 0 });
        self.received += 1;
        if req.last_zxid_seen > self.tree.last_zxid {
            // The client has seen a newer state than ours (ZooKeeper refuses too).
            self.send(conn, OutMsg::Close);
            self.drop_conn(conn);
            return;
        }
        let timeout = self.cfg.negotiate_timeout(req.timeout_ms);
        let now = Instant::now();
        let session = if req.session_id == 0 {
            let id = self.sessions.next_id();
            self.commit(id, 0, Txn::CreateSession { timeout_ms: timeout });
            self.sessions.add(id, timeout, now);
            Some(id)
        } else if self.sessions.get(req.session_id).is_some() && req.passwd == self.sessions.password(req.session_id) {
            Some(req.session_id)
        } else {
            None
        };
        let mut w = Writer::framed();
        match session {
            Some(id) => {
                let previous = self.sessions.get_mut(id).and_then(|s| {
                    s.timeout_ms = timeout;
                    s.conn.replace(conn)
                });
                self.sessions.touch(id, now);
                if let Some(old) = previous.filter(|old| *old != conn) {
                    self.send(old, OutMsg::Close);
                    self.drop_conn(old);
                }
                self.conns.get_mut(&conn).expect("just added").session = id;
                w.int(0).int(timeout).long(id).buffer(&self.sessions.password(id));
            }
            // Unknown, expired or wrong password: a zero timeout tells the
            // client its session has expired.
            None => {
                w.int(0).int(0).long(0).buffer(&[0u8; 16]);
            }
        }
        if req.read_only.is_some() {
            w.bool(false);
        }
        self.send(conn, OutMsg::Frame(w.into_frame()));
        if session.is_none() {
            self.send(conn, OutMsg::Close);
            self.drop_conn(conn);
        }
    }

    fn expire_sessions(&mut self, now: Instant) {
        for id in self.sessions.expired(now) {
            let conn = self.sessions.remove(id).and_then(|s| s.conn);
            self.commit(id, 0, Txn::CloseSession);
            if let Some(conn) = conn {
                self.send(conn, OutMsg::Close);
                self.drop_conn(conn);
            }
        }
    }

    /// ZooKeeper's ContainerManager: deletes empty containers and expired
    /// TTL nodes through the log like any other delete.
    fn collect_containers_and_ttls(&mut self) {
        let mut doomed = self.tree.empty_containers();
        doomed.extend(self.tree.expired_ttls(now_ms()));
        for path in doomed {
            self.commit(0, 0, Txn::Delete { path });
        }
    }

    fn reply(&mut self, conn: ConnId, xid: i32, zxid: i64, err: ErrCode, body: impl FnOnce(&mut Writer)) {
        let mut w = reply_header(xid, zxid, err);
        if err == ErrCode::Ok {
            body(&mut w);
        }
        self.send(conn, OutMsg::Frame(w.into_frame()));
    }

    fn reply_err(&mut self, conn: ConnId, xid: i32, err: ErrCode) {
        let zxid = self.tree.last_zxid;
        self.reply(conn, xid, zxid, err, |_| {});
    }

    fn request(&mut self, conn: ConnId, xid: i32, req: Request) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.received += 1;
        self.received += 1;
        let session = c.session;
        self.sessions.touch(session, Instant::now());
        if req.is_write() {
            return self.write(conn, session, xid, req);
        }
        let zxid = self.tree.last_zxid;
        match req {
            Request::Ping => self.reply(conn, xid::PING, zxid, ErrCode::Ok, |_| {}),
            Request::Auth { scheme, auth } => self.auth(conn, &scheme, &auth),
            Request::SetWatches { relative_zxid, lists } => {
                self.set_watches(conn, relative_zxid, lists);
                self.reply(conn, xid::SET_WATCHES, zxid, ErrCode::Ok, |_| {});
            }
            Request::MultiRead(ops) => {
                let mut w = reply_header(xid, zxid, ErrCode::Ok);
                for op in &ops {
                    match self.read(conn, op) {
                        Ok(body) => {
                            w.int(op.opcode()).bool(false).int(0);
                            w.buf.extend_from_slice(&body);
                        }
                        Err(e) => {
                            w.int(op::ERROR).bool(false).int(e.code()).int(e.code());
                        }
                    }
                }
                end_multi(&mut w);
                self.send(conn, OutMsg::Frame(w.into_frame()));
            }
            Request::Unknown(_) => {
                // ZooKeeper answers Unimplemented (with zxid -1) and hangs up.
                self.reply(conn, xid, -1, ErrCode::Unimplemented, |_| {});
                self.send(conn, OutMsg::Close);
                self.drop_conn(conn);
            }
            other => match self.read(conn, &other) {
                Ok(body) => self.reply(conn, xid, zxid, ErrCode::Ok, |w| w.buf.extend_from_slice(&body)),
                Err(e) => self.reply_err(conn, xid, e),
            },
        }
    }

    fn write(&mut self, conn: ConnId, session: i64, xid: i32, req: Request) {
        let who = self.conns[&conn].who.clone();
        let txn = match Prep::new(&self.tree, &who, session).prepare(&req, now_ms()) {
            Ok(txn) => txn,
            // A failed write still takes a zxid and a log record, as in ZooKeeper.
            Err(e) => Txn::Error(e.code()),
        };
        if matches!(txn, Txn::CloseSession) {
            self.sessions.remove(session);
        }
        let (zxid, result) = self.commit(session, xid, txn);
        match (&req, result) {
            (_, TxnResult::Error(code)) => self.reply(conn, xid, zxid, ErrCode::from_code(code), |_| {}),
            (Request::Create { opcode, .. }, TxnResult::Created { path, stat }) => {
                let with_stat = *opcode != op::CREATE;
                self.reply(conn, xid, zxid, ErrCode::Ok, |w| {
                    w.string(&path);
                    if with_stat {
                        stat.write(w);
                    }
                })
            }
            (_, TxnResult::Stat(stat)) => self.reply(conn, xid, zxid, ErrCode::Ok, |w| stat.write(w)),
            (Request::Multi(ops), TxnResult::Multi(results)) => self.reply(conn, xid, zxid, ErrCode::Ok, |w| {
                for (op, result) in ops.iter().zip(&results) {
                    multi_result(w, op.opcode(), result);
                }
                end_multi(w);
            }),
            (Request::CloseSession, _) => {
                self.reply(conn, xid, zxid, ErrCode::Ok, |_| {});
                self.send(conn, OutMsg::Close);
                self.drop_conn(conn);
            }
            _ => self.reply(conn, xid, zxid, ErrCode::Ok, |_| {}),
        }
    }

    fn auth(&mut self, conn: ConnId, scheme: &str, auth: &[u8]) {
        let id = match (scheme, std::str::from_utf8(auth).ok().and_then(digest_id)) {
            ("digest", Some(id)) => id,
            _ => {
                // ZooKeeper answers AuthFailed and then closes the connection.
                self.reply_err(conn, xid::AUTH, ErrCode::AuthFailed);
                self.send(conn, OutMsg::Close);
                self.drop_conn(conn);
                return;
            }
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            let id = Id { scheme: "digest".into(), id };
            if !c.who.ids.contains(&id) {
                c.who.ids.push(id);
            }
        }
        let zxid = self.tree.last_zxid;
        self.reply(conn, xid::AUTH, zxid, ErrCode::Ok, |_| {});
    }

    /// Re-registers a reconnecting client's watches; those whose node
    /// changed after `relative_zxid` fire at once instead.
    fn set_watches(&mut self, conn: ConnId, relative_zxid: i64, lists: SetWatchLists) {
        use proto::event::*;
        let mut fire = Vec::new();
        for path in &lists.data {
            match self.tree.get(path) {
                None => fire.push((path, NODE_DELETED)),
                Some(n) if n.stat.mzxid > relative_zxid => fire.push((path, NODE_DATA_CHANGED)),
                Some(_) => self.watches.add(conn, WatchKind::Data, path),
            }
        }
        for path in &lists.exist {
            match self.tree.get(path) {
                Some(_) => fire.push((path, NODE_CREATED)),
                None => self.watches.add(conn, WatchKind::Data, path),
            }
        }
        for path in &lists.child {
            match self.tree.get(path) {
                None => fire.push((path, NODE_DELETED)),
                Some(n) if n.stat.pzxid > relative_zxid => fire.push((path, NODE_CHILDREN_CHANGED)),
                Some(_) => self.watches.add(conn, WatchKind::Child, path),
            }
        }
        for path in &lists.persistent {
            self.watches.add(conn, WatchKind::Persistent, path);
        }
        for path in &lists.recursive {
            self.watches.add(conn, WatchKind::PersistentRecursive, path);
        }
        for (path, event_type) in fire {
            self.send(conn, OutMsg::Frame(proto::watch_event_frame(event_type, path)));
        }
    }

    /// A read-only request: the response body, or the error code.
    fn read(&mut self, conn: ConnId, req: &Request) -> Result<Vec<u8>, ErrCode> {
        let mut w = Writer::new();
        let who = &self.conns[&conn].who;
        match req {
            Request::Exists { path, watch } => {
                validate_path(path, false)?;
                if *watch {
                    self.watches.add(conn, WatchKind::Data, path);
                }
                self.tree.get(path).ok_or(ErrCode::NoNode)?.stat.write(&mut w);
            }
            Request::GetData { path, watch } => {
                validate_path(path, false)?;
                let node = self.tree.get(path).ok_or(ErrCode::NoNode)?;
                who.check(&node.acl, proto::perms::READ)?;
                w.buffer(&node.data);
                node.client_stat().write(&mut w);
                if *watch {
                    self.watches.add(conn, WatchKind::Data, path);
                }
            }
            Request::GetChildren { path, watch, with_stat } => {
                validate_path(path, false)?;
                let node = self.tree.get(path).ok_or(ErrCode::NoNode)?;
                who.check(&node.acl, proto::perms::READ)?;
                let children: Vec<&String> = node.children.iter().collect();
                w.strings(&children);
                if *with_stat {
                    node.client_stat().write(&mut w);
                }
                if *watch {
                    self.watches.add(conn, WatchKind::Child, path);
                }
            }
            Request::GetAcl { path } => {
                validate_path(path, false)?;
                let node = self.tree.get(path).ok_or(ErrCode::NoNode)?;
                // Either right will do, as in ZooKeeper 3.8.
                who.check(&node.acl, proto::perms::READ | proto::perms::ADMIN)?;
                Acl::write_all(&mut w, &node.acl);
                node.client_stat().write(&mut w);
            }
            Request::Sync { path } => {
                validate_path(path, false)?;
                w.string(path);
            }
            Request::GetAllChildrenNumber { path } => {
                validate_path(path, false)?;
                let node = self.tree.get(path).ok_or(ErrCode::NoNode)?;
                who.check(&node.acl, proto::perms::READ)?;
                w.int(self.tree.descendant_count(path) as i32);
            }
            Request::GetEphemerals { prefix } => {
                let session = self.conns[&conn].session;
                let paths: Vec<&String> =
                    self.tree.ephemerals_of(session).filter(|p| p.starts_with(prefix.as_str())).collect();
                w.strings(&paths);
            }
            Request::AddWatch { path, recursive } => {
                validate_path(path, false)?;
                let kind = if *recursive { WatchKind::PersistentRecursive } else { WatchKind::Persistent };
                self.watches.add(conn, kind, path);
            }
            Request::RemoveWatches { path, kind, remove } => {
                validate_path(path, false)?;
                // ZooKeeper 3.8 takes only Children, Data and Any on the wire.
                if !(1..=3).contains(kind) {
                    return Err(ErrCode::MarshallingError);
                }
                if !self.watches.remove(conn, path, *kind, *remove) {
                    return Err(ErrCode::NoWatcher);
                }
            }
            Request::WhoAmI => {
                let c = &self.conns[&conn];
                let mut infos = vec![("ip".to_string(), c.addr.ip().to_string())];
                infos.extend(c.who.ids.iter().map(|id| {
                    let user = id.id.split(':').next().unwrap_or_default().to_string();
                    (id.scheme.clone(), user)
                }));
                w.int(infos.len() as i32);
                for (scheme, user) in infos {
                    w.string(&scheme).string(&user);
                }
            }
            _ => return Err(ErrCode::Unimplemented),
        }
        Ok(w.buf)
    }

    fn view(&self) -> ServerView<'_> {
        let conns = self
            .conns
            .iter()
            .map(|(id, c)| ConnInfo {
                id: *id,
                addr: c.addr,
                session: c.session,
                timeout_ms: self.sessions.get(c.session).map_or(0, |s| s.timeout_ms),
                received: c.received,
                sent: c.sent,
            })
            .collect();
        ServerView {
            cfg: &self.cfg,
            tree: &self.tree,
            watches: &self.watches,
            conns,
            received: self.received,
            sent: self.sent,
            sessions: self.sessions.iter().map(|(id, s)| (*id, s.timeout_ms)).collect(),
            uptime: self.started.elapsed(),
            latency_ms: self.queue.latency().millis(),
        }
    }
}
