//! The table of connected clients, for CLIENT LIST / KILL / INFO clients,
//! and the per-connection channel used to push messages or kill it.

use crate::db::ClientId;
use std::collections::BTreeMap;
use std::net::IpAddr;
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
    pub no_evict: bool,
    pub tx: UnboundedSender<Push>,
}

impl ClientInfo {
    /// One line of CLIENT LIST, with Redis 7.0's fields; `flags` depend on
    /// server state the registry doesn't hold (see cmd::client).
    pub fn line(&self, now: i64, flags: &str) -> String {
        format!(
            "id={} addr={} laddr={} fd=8 name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1024 events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.name,
            (now - self.created_ms) / 1000,
            (now - self.last_ms) / 1000,
            flags,
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

/// What Redis writes to a client that protected mode turns away.
pub const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Protected mode (Redis 7.0): with no password for the default user, only
/// 127.0.0.1 and ::1 may connect, whatever the bind addresses.
pub fn protected_mode_denies(protected_mode: bool, has_password: bool, peer: IpAddr) -> bool {
    let loopback = match peer {
        IpAddr::V4(a) => a == std::net::Ipv4Addr::LOCALHOST,
        IpAddr::V6(a) => a == std::net::Ipv6Addr::LOCALHOST,
    };
    protected_mode && !has_password && !loopback
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_mode_turns_away_remote_clients_without_password() {
        let remote: IpAddr = "10.1.2.3".parse().expect("ip");
        let local: IpAddr = "127.0.0.1".parse().expect("ip");
        let local6: IpAddr = "::1".parse().expect("ip");
        // Redis compares the text: other 127/8 addresses are not local.
        let other_loopback: IpAddr = "127.0.0.2".parse().expect("ip");
        assert!(protected_mode_denies(true, false, remote));
        assert!(protected_mode_denies(true, false, other_loopback));
        assert!(!protected_mode_denies(true, false, local));
        assert!(!protected_mode_denies(true, false, local6));
        assert!(!protected_mode_denies(true, true, remote));
        assert!(!protected_mode_denies(false, false, remote));
    }
}
