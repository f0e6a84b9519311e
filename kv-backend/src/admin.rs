//! Server-wide state behind the admin commands: the slow log, the latency
//! monitor, CLIENT PAUSE and the MONITOR clients.

use crate::clients::Push;
use crate::cmd::table::{self, Command};
use crate::db::ClientId;
use crate::latency::LatencyMonitor;
use crate::slowlog::SlowLog;
use tokio::sync::mpsc::UnboundedSender;

/// CLIENT PAUSE: until when, and whether reads are held too.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pause {
    pub until_ms: i64,
    pub all: bool,
}

impl Pause {
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.until_ms > now_ms
    }

    /// A new pause while one is running keeps the later end and the
    /// stricter mode, as Redis does.
    pub fn extend(&mut self, now_ms: i64, until_ms: i64, all: bool) {
        if self.is_active(now_ms) {
            self.until_ms = self.until_ms.max(until_ms);
            self.all |= all;
        } else {
            *self = Pause { until_ms, all };
        }
    }

    /// Whether the pause holds this command back. `exec_writes`: the
    /// command is EXEC and its queue holds a write.
    pub fn holds(&self, now_ms: i64, cmd: &Command, exec_writes: bool) -> bool {
        self.is_active(now_ms) && (self.all || may_replicate(cmd) || exec_writes)
    }
}

/// Write commands and those Redis treats as possibly replicated (PUBLISH):
/// what CLIENT PAUSE WRITE holds back.
pub fn may_replicate(cmd: &Command) -> bool {
    cmd.flags & table::WRITE != 0 || cmd.name == "publish"
}

#[derive(Debug, Default)]
pub struct AdminState {
    pub slowlog: SlowLog,
    pub latency: LatencyMonitor,
    pub pause: Pause,
    /// Clients that ran MONITOR, with the channel their feed goes to.
    pub monitors: Vec<(ClientId, UnboundedSender<Push>)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_pause_holds_writes_only() {
        let get = table::lookup(b"get").expect("get");
        let set = table::lookup(b"set").expect("set");
        let publish = table::lookup(b"publish").expect("publish");
        let exec = table::lookup(b"exec").expect("exec");
        let mut p = Pause::default();
        p.extend(1000, 2000, false);
        assert!(!p.holds(1500, get, false));
        assert!(p.holds(1500, set, false));
        assert!(p.holds(1500, publish, false));
        assert!(!p.holds(1500, exec, false));
        assert!(p.holds(1500, exec, true));
        assert!(!p.holds(2000, set, false));
        // A later ALL pause makes it stricter; a shorter one doesn't shorten it.
        p.extend(1500, 1800, true);
        assert!(p.holds(1900, get, false));
        assert_eq!(p.until_ms, 2000);
    }
}
