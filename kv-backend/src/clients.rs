//! The table of connected clients, for CLIENT LIST / KILL / INFO clients,
//! and the per-connection channel used to push messages or kill it.

use crate::db::ClientId;
use std::collections::BTreeMap;
use tokio::sync::mpsc::UnboundedSender;

/// Something sent to a connection from outside its own command stream.
#[derive(Debug)]
pub enum Push {
    /// Bytes to write as they are (pub/sub messages).
    Data(Vec<u8>),
    /// CLIENT KILL: close the connection.
    Kill,
}

#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub id: ClientId,
    pub addr: String,
    pub laddr: String,
    pub name: String,
    pub db: usize,
    pub created_ms: i64,
    pub last_ms: i64,
    pub last_cmd: &'static str,
    pub sub: usize,
    pub psub: usize,
    pub multi: i64,
    pub resp: u8,
    pub flags: &'static str,
    pub tx: UnboundedSender<Push>,
}

impl ClientInfo {
    /// One line of CLIENT LIST, with Redis 7.0's fields.
    pub fn line(&self, now: i64) -> String {
        format!(
            "id={} addr={} laddr={} fd=8 name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1024 events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.name,
            (now - self.created_ms) / 1000,
            (now - self.last_ms) / 1000,
            self.flags,
            self.db,
            self.sub,
            self.psub,
            self.multi,
            self.last_cmd,
            self.resp
        )
    }
}

#[derive(Debug, Default)]
pub struct Registry {
    pub map: BTreeMap<ClientId, ClientInfo>,
    next_id: ClientId,
}

impl Registry {
    pub fn next_id(&mut self) -> ClientId {
        self.next_id += 1;
        self.next_id
    }
}
