//! Session liveness: when each session expires, which connection it is on,
//! and its password. The durable part (id and timeout) lives in the tree.

use crate::watches::ConnId;
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub struct Session {
    pub timeout_ms: i32,
    pub expires: Instant,
    pub conn: Option<ConnId>,
}

pub struct Sessions {
    live: HashMap<i64, Session>,
    next_id: i64,
    secret: u64,
}

/// Passwords are derived from the id and a server secret, as ZooKeeper
/// does, so they survive a restart without being stored.
const SECRET: u64 = 0xB341_5C00_C00D_2026;

impl Sessions {
    /// Ids start from the clock and carry the server id in the top byte,
    /// like ZooKeeper's SessionTrackerImpl.initializeNextSessionId.
    pub fn new(server_id: u64, now_ms: i64) -> Sessions {
        let base = ((now_ms << 24) as u64 >> 8) as i64;
        Sessions { live: HashMap::new(), next_id: base | ((server_id as i64) << 56), secret: SECRET }
    }

    pub fn password(&self, id: i64) -> Vec<u8> {
        let mut h = Sha1::new();
        h.update(self.secret.to_be_bytes());
        h.update(id.to_be_bytes());
        h.finalize()[..16].to_vec()
    }

    pub fn next_id(&mut self) -> i64 {
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if id != 0 && !self.live.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn add(&mut self, id: i64, timeout_ms: i32, now: Instant) {
        let expires = now + Duration::from_millis(timeout_ms.max(0) as u64);
        self.live.insert(id, Session { timeout_ms, expires, conn: None });
    }

    pub fn get(&self, id: i64) -> Option<&Session> {
        self.live.get(&id)
    }

    pub fn get_mut(&mut self, id: i64) -> Option<&mut Session> {
        self.live.get_mut(&id)
    }

    pub fn remove(&mut self, id: i64) -> Option<Session> {
        self.live.remove(&id)
    }

    /// Pushes the expiry of a session forward: any traffic from it counts.
    pub fn touch(&mut self, id: i64, now: Instant) {
        if let Some(s) = self.live.get_mut(&id) {
            s.expires = now + Duration::from_millis(s.timeout_ms.max(0) as u64);
        }
    }

    pub fn expired(&self, now: Instant) -> Vec<i64> {
        let mut ids: Vec<i64> = self.live.iter().filter(|(_, s)| s.expires <= now).map(|(id, _)| *id).collect();
        ids.sort();
        ids
    }

    pub fn iter(&self) -> impl Iterator<Item = (&i64, &Session)> {
        self.live.iter()
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_follows_touches() {
        let t0 = Instant::now();
        let mut s = Sessions::new(1, 1_700_000_000_000);
        let id = s.next_id();
        assert_eq!(id >> 56, 1, "server id in the top byte");
        s.add(id, 100, t0);
        assert!(s.expired(t0 + Duration::from_millis(50)).is_empty());
        s.touch(id, t0 + Duration::from_millis(80));
        assert!(s.expired(t0 + Duration::from_millis(150)).is_empty());
        assert_eq!(s.expired(t0 + Duration::from_millis(181)), vec![id]);
    }

    #[test]
    fn passwords_are_stable_and_distinct() {
        let s = Sessions::new(0, 1);
        assert_eq!(s.password(5), s.password(5));
        assert_ne!(s.password(5), s.password(6));
        assert_eq!(s.password(5).len(), 16);
    }
}
