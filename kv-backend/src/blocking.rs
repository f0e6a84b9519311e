//! Clients blocked in BLPOP/BRPOP/BLMOVE/BLMPOP/BZPOPMIN/BZPOPMAX/BZMPOP:
//! who waits on which key, first come first served.

use crate::db::ClientId;
use crate::types::{HashMap, HashSet, Sds};
use std::collections::VecDeque;
use tokio::sync::oneshot;

/// What a blocked client will do once one of its keys has data.
#[derive(Debug, Clone)]
pub enum BlockOp {
    /// BLPOP / BRPOP.
    Pop { left: bool },
    /// BLMOVE / BRPOPLPUSH.
    Move {
        dst: Sds,
        from_left: bool,
        to_left: bool,
    },
    /// BLMPOP.
    MPop { left: bool, count: usize },
    /// BZPOPMIN / BZPOPMAX.
    ZPop { min: bool },
    /// BZMPOP.
    ZMPop { min: bool, count: usize },
}

#[derive(Debug)]
pub struct Waiter {
    pub db: usize,
    pub keys: Vec<Sds>,
    pub op: BlockOp,
    pub resp3: bool,
    pub tx: oneshot::Sender<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Registry {
    by_key: HashMap<(usize, Sds), VecDeque<ClientId>>,
    pub waiters: HashMap<ClientId, Waiter>,
    ready: Vec<(usize, Sds)>,
    ready_set: HashSet<(usize, Sds)>,
}

impl Registry {
    pub fn is_waiting_on(&self, db: usize, key: &[u8]) -> bool {
        !self.by_key.is_empty() && self.by_key.contains_key(&(db, Sds::from_slice(key)))
    }

    pub fn mark_ready(&mut self, db: usize, key: &[u8]) {
        let k = (db, Sds::from_slice(key));
        if self.ready_set.insert(k.clone()) {
            self.ready.push(k);
        }
    }

    pub fn take_ready(&mut self) -> Vec<(usize, Sds)> {
        self.ready_set.clear();
        std::mem::take(&mut self.ready)
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    pub fn block(&mut self, client: ClientId, w: Waiter) {
        for k in &w.keys {
            self.by_key
                .entry((w.db, k.clone()))
                .or_default()
                .push_back(client);
        }
        self.waiters.insert(client, w);
    }

    /// Removes a client's wait (served, timed out or gone).
    pub fn unblock(&mut self, client: ClientId) -> Option<Waiter> {
        let w = self.waiters.remove(&client)?;
        for k in &w.keys {
            let slot = (w.db, k.clone());
            if let Some(q) = self.by_key.get_mut(&slot) {
                q.retain(|c| *c != client);
                if q.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
        Some(w)
    }

    /// Clients waiting on a key, oldest first.
    pub fn queue(&self, db: usize, key: &[u8]) -> Vec<ClientId> {
        self.by_key
            .get(&(db, Sds::from_slice(key)))
            .map(|q| q.iter().copied().collect())
            .unwrap_or_default()
    }
}
