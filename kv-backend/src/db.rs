//! The keyspace: databases of entries, TTLs, lazy and active expiry,
//! approximated LRU/LFU bookkeeping, eviction, and the WATCH/blocking hooks
//! that every write goes through.

use crate::alloc::used_memory;
use crate::config::{Config, EvictionPolicy};
use crate::types::{HashMap, HashSet, IndexMap, Sds, Value};
use crate::util::rand_below;

pub type ClientId = u64;

/// A key's value plus its LRU clock (or LFU time+counter), as Redis' robj.
#[derive(Debug)]
pub struct Entry {
    pub val: Value,
    pub lru: u32,
}

#[derive(Debug, Default)]
pub struct Database {
    pub keys: IndexMap<Sds, Entry>,
    /// Absolute expiry time in Unix milliseconds, for volatile keys only.
    pub expires: IndexMap<Sds, i64>,
    /// WATCHed keys: client and whether the key was already expired at WATCH.
    pub watched: HashMap<Sds, Vec<(ClientId, bool)>>,
}

impl Database {
    /// Adds a new key. The entry array grows by half its size at a time
    /// instead of IndexMap's default (matching the index's capacity, close
    /// to doubling), which keeps memory per key near Redis'.
    pub fn insert(&mut self, key: Sds, entry: Entry) {
        let len = self.keys.len();
        if len == self.keys.capacity() {
            self.keys.reserve_exact(len / 2 + 16);
        }
        self.keys.insert(key, entry);
    }

    pub fn expire_at(&self, key: &[u8]) -> Option<i64> {
        if self.expires.is_empty() {
            None
        } else {
            self.expires.get(key).copied()
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    pub rejected_connections: u64,
    pub pubsub_messages: u64,
    /// Writes since start (Redis' `dirty`, shown as rdb_changes_since_last_save).
    pub dirty: u64,
    pub total_error_replies: u64,
    pub commands: crate::stats::CommandStats,
    pub errors: crate::stats::ErrorStats,
    pub rates: crate::stats::Rates,
}

/// How a lookup treats the key's access statistics.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A read: counts hits/misses and refreshes LRU/LFU.
    Read,
    /// A write: refreshes LRU/LFU.
    Write,
    /// TYPE, OBJECT, TTL...: leaves everything as it is.
    NoTouch,
}

pub const LFU_INIT_VAL: u32 = 5;

/// Used memory is over `maxmemory` and the policy can't free any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;
const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

pub struct Store {
    pub dbs: Vec<Database>,
    pub config: Config,
    pub stats: Stats,
    /// Clients whose WATCHed keys were touched: their EXEC fails.
    pub dirty_cas: HashSet<ClientId>,
    pub blocking: crate::blocking::Registry,
    pub pubsub: crate::pubsub::Registry,
    pub clients: crate::clients::Registry,
    pub start_ms: i64,
    /// Set by SHUTDOWN; the server loop exits.
    pub shutdown: bool,
    /// Redis' eviction pool: the best victims seen by recent samplings,
    /// ordered by score (best last).
    pub evict_pool: Vec<(u64, usize, Sds)>,
    /// Slow log, latency monitor, CLIENT PAUSE, MONITOR.
    pub admin: crate::admin::AdminState,
}

/// Size of the eviction pool, as Redis' EVPOOL_SIZE.
const EVICTION_POOL_SIZE: usize = 16;

/// Redis' LRU clock: seconds, 24 bits.
pub fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u32) & LRU_CLOCK_MAX
}

/// Seconds since the entry was last touched (LRU mode).
pub fn idle_secs(lru: u32, now_ms: i64) -> u64 {
    let clock = lru_clock(now_ms);
    if clock >= lru {
        (clock - lru) as u64
    } else {
        (clock as u64 + LRU_CLOCK_MAX as u64) - lru as u64
    }
}

fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 60000) as u32) & 0xFFFF
}

/// The LFU counter after decay (Redis' LFUDecrAndReturn).
pub fn lfu_decayed(lru: u32, now_ms: i64, decay_time: u32) -> u32 {
    let ldt = lru >> 8;
    let counter = lru & 255;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    };
    let periods = elapsed.checked_div(decay_time).unwrap_or(0);
    counter.saturating_sub(periods)
}

fn lfu_log_incr(counter: u32, log_factor: u32) -> u32 {
    if counter == 255 {
        return 255;
    }
    let r = (crate::util::rand_u64() % 1_000_000) as f64 / 1_000_000.0;
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

impl Store {
    pub fn new(config: Config) -> Store {
        let dbs = (0..config.databases).map(|_| Database::default()).collect();
        Store {
            dbs,
            config,
            stats: Stats::default(),
            dirty_cas: HashSet::default(),
            blocking: Default::default(),
            pubsub: Default::default(),
            clients: Default::default(),
            start_ms: crate::util::now_ms(),
            shutdown: false,
            evict_pool: Vec::with_capacity(EVICTION_POOL_SIZE + 1),
            admin: Default::default(),
        }
    }

    /// The initial LRU field for a new key under the current policy.
    pub fn fresh_lru(&self, now: i64) -> u32 {
        if self.config.maxmemory_policy.is_lfu() {
            (lfu_minutes(now) << 8) | LFU_INIT_VAL
        } else {
            lru_clock(now)
        }
    }

    /// Whether the key's TTL has passed. The key is deleted then, except
    /// while CLIENT PAUSE holds writes: Redis 7.0 defers every deletion
    /// (lazy and active) until the pause ends, so the key reads as missing
    /// but still counts in DBSIZE.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8], now: i64) -> bool {
        match self.dbs[db].expire_at(key) {
            Some(when) if when <= now && self.admin.pause.is_active(now) => true,
            Some(when) if when <= now => {
                self.remove(db, key);
                self.stats.expired_keys += 1;
                self.signal_modified(db, key);
                true
            }
            _ => false,
        }
    }

    /// Finds a live key (expiring it lazily first).
    pub fn lookup(
        &mut self,
        db: usize,
        key: &[u8],
        now: i64,
        access: Access,
    ) -> Option<&mut Entry> {
        let expired = self.expire_if_needed(db, key, now);
        // Borrow the fields apart so the entry (one hash lookup) and the
        // stats can be used together.
        let Store {
            dbs, stats, config, ..
        } = self;
        let found = if expired {
            None
        } else {
            dbs[db].keys.get_mut(key)
        };
        if access == Access::Read {
            if found.is_some() {
                stats.keyspace_hits += 1;
            } else {
                stats.keyspace_misses += 1;
            }
        }
        let e = found?;
        let lfu = config.maxmemory_policy.is_lfu();
        let (decay, factor) = (config.lfu_decay_time, config.lfu_log_factor);
        if access != Access::NoTouch {
            if lfu {
                let c = lfu_log_incr(lfu_decayed(e.lru, now, decay), factor);
                e.lru = (lfu_minutes(now) << 8) | c;
            } else {
                e.lru = lru_clock(now);
            }
        }
        Some(e)
    }

    pub fn exists(&mut self, db: usize, key: &[u8], now: i64) -> bool {
        !self.expire_if_needed(db, key, now) && self.dbs[db].keys.contains_key(key)
    }

    /// Stores a value, replacing any old one. The TTL is cleared unless
    /// `keep_ttl`. Signals the change.
    pub fn set(&mut self, db: usize, key: &[u8], val: Value, keep_ttl: bool, now: i64) {
        let lru = self.fresh_lru(now);
        let d = &mut self.dbs[db];
        match d.keys.get_mut(key) {
            Some(e) => e.val = val,
            None => {
                d.insert(Sds::from_slice(key), Entry { val, lru });
            }
        }
        if !keep_ttl && !d.expires.is_empty() {
            d.expires.swap_remove(key);
        }
        self.signal_modified(db, key);
    }

    /// Removes a key and its TTL without signalling.
    pub fn remove(&mut self, db: usize, key: &[u8]) -> Option<Entry> {
        let d = &mut self.dbs[db];
        let e = d.keys.swap_remove(key)?;
        if !d.expires.is_empty() {
            d.expires.swap_remove(key);
        }
        Some(e)
    }

    /// DEL semantics: removes a live key and signals. True if it existed.
    pub fn delete(&mut self, db: usize, key: &[u8], now: i64) -> bool {
        if self.expire_if_needed(db, key, now) {
            return false;
        }
        if self.remove(db, key).is_some() {
            self.signal_modified(db, key);
            true
        } else {
            false
        }
    }

    pub fn set_expire(&mut self, db: usize, key: &[u8], when_ms: i64) {
        let d = &mut self.dbs[db];
        match d.expires.get_mut(key) {
            Some(w) => *w = when_ms,
            None => {
                d.expires.insert(Sds::from_slice(key), when_ms);
            }
        }
    }

    pub fn persist(&mut self, db: usize, key: &[u8]) -> bool {
        self.dbs[db].expires.swap_remove(key).is_some()
    }

    /// Called after every change to a key: fails the EXEC of clients that
    /// WATCH it and wakes clients blocked on it.
    pub fn signal_modified(&mut self, db: usize, key: &[u8]) {
        self.stats.dirty += 1;
        let d = &mut self.dbs[db];
        if !d.watched.is_empty() {
            if let Some(ws) = d.watched.get_mut(key) {
                let exists = d.keys.contains_key(key);
                for (cid, expired_at_watch) in ws.iter_mut() {
                    if *expired_at_watch && !exists {
                        // Already logically gone at WATCH time: deleting it changes nothing.
                        *expired_at_watch = false;
                        continue;
                    }
                    self.dirty_cas.insert(*cid);
                }
            }
        }
        if self.blocking.is_waiting_on(db, key) {
            self.blocking.mark_ready(db, key);
        }
    }

    /// FLUSHDB/FLUSHALL/SWAPDB: every client watching a key that exists in
    /// the db (or will after a swap) must fail its EXEC.
    pub fn touch_all_watched(&mut self, db: usize, other: Option<usize>) {
        let d = &self.dbs[db];
        for (key, ws) in d.watched.iter() {
            let exists_here = d.keys.contains_key(key.as_slice());
            let exists_other = other.is_some_and(|o| self.dbs[o].keys.contains_key(key.as_slice()));
            if exists_here || exists_other {
                for (cid, _) in ws {
                    self.dirty_cas.insert(*cid);
                }
            }
        }
    }

    pub fn flush_db(&mut self, db: usize) -> usize {
        self.touch_all_watched(db, None);
        let d = &mut self.dbs[db];
        let n = d.keys.len();
        d.keys = IndexMap::default();
        d.expires = IndexMap::default();
        self.stats.dirty += n as u64;
        n
    }

    /// Redis' active expire cycle for one database: sample 20 volatile keys,
    /// delete the expired ones, repeat while more than 25% were expired.
    /// Does nothing while CLIENT PAUSE holds writes (as Redis 7.0).
    pub fn active_expire(&mut self, now: i64, deadline: std::time::Instant) {
        if self.admin.pause.is_active(now) {
            return;
        }
        for db in 0..self.dbs.len() {
            loop {
                let n = self.dbs[db].expires.len().min(20);
                if n == 0 {
                    break;
                }
                let mut expired = 0;
                for _ in 0..n {
                    let len = self.dbs[db].expires.len();
                    if len == 0 {
                        break;
                    }
                    let (key, when) = self.dbs[db]
                        .expires
                        .get_index(rand_below(len))
                        .expect("index in range");
                    if *when <= now {
                        let key = key.clone();
                        self.remove(db, &key);
                        self.stats.expired_keys += 1;
                        self.signal_modified(db, &key);
                        expired += 1;
                    }
                }
                if expired * 4 <= n || std::time::Instant::now() >= deadline {
                    break;
                }
            }
        }
    }

    /// Frees memory per `maxmemory-policy` until under `maxmemory`.
    /// Err means nothing more can be evicted (the caller replies OOM).
    pub fn evict_if_needed(&mut self, now: i64) -> Result<(), OutOfMemory> {
        let max = self.config.maxmemory;
        if max == 0 {
            return Ok(());
        }
        let policy = self.config.maxmemory_policy;
        let mut guard = 0usize;
        while used_memory() as u64 > max {
            if policy == EvictionPolicy::NoEviction {
                return Err(OutOfMemory);
            }
            guard += 1;
            if guard > 1_000_000 {
                return Err(OutOfMemory);
            }
            let Some((db, key)) = self.pick_victim(policy, now) else {
                return Err(OutOfMemory);
            };
            self.remove(db, &key);
            self.stats.evicted_keys += 1;
            self.signal_modified(db, &key);
        }
        Ok(())
    }

    /// Samples `maxmemory-samples` keys per database into the eviction pool
    /// and returns the best candidate still present: the idlest (LRU), least
    /// used (LFU), nearest TTL, or, for the random policies, any sampled key.
    fn pick_victim(&mut self, policy: EvictionPolicy, now: i64) -> Option<(usize, Sds)> {
        let samples = self.config.maxmemory_samples;
        let decay = self.config.lfu_decay_time;
        let random = matches!(
            policy,
            EvictionPolicy::AllKeysRandom | EvictionPolicy::VolatileRandom
        );
        for (dbi, d) in self.dbs.iter().enumerate() {
            let pool_len = if policy.volatile_only() {
                d.expires.len()
            } else {
                d.keys.len()
            };
            if pool_len == 0 {
                continue;
            }
            if random {
                let i = rand_below(pool_len);
                let key = if policy.volatile_only() {
                    d.expires.get_index(i).map(|(k, _)| k)
                } else {
                    d.keys.get_index(i).map(|(k, _)| k)
                };
                return key.map(|k| (dbi, k.clone()));
            }
            for _ in 0..samples {
                let i = rand_below(pool_len);
                let (key, ttl) = if policy.volatile_only() {
                    let (k, w) = d.expires.get_index(i).expect("in range");
                    (k, Some(*w))
                } else {
                    (d.keys.get_index(i).expect("in range").0, None)
                };
                let Some(entry) = d.keys.get(key) else {
                    continue;
                };
                // Higher score = better victim.
                let score = match policy {
                    EvictionPolicy::AllKeysLru | EvictionPolicy::VolatileLru => {
                        idle_secs(entry.lru, now)
                    }
                    EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu => {
                        255 - lfu_decayed(entry.lru, now, decay) as u64
                    }
                    _ => u64::MAX - ttl.unwrap_or(i64::MAX).max(0) as u64,
                };
                let pool = &mut self.evict_pool;
                if pool.iter().any(|(_, pdb, pk)| *pdb == dbi && pk == key) {
                    continue;
                }
                if pool.len() < EVICTION_POOL_SIZE || score > pool[0].0 {
                    let at = pool.partition_point(|(s, _, _)| *s <= score);
                    pool.insert(at, (score, dbi, key.clone()));
                    if pool.len() > EVICTION_POOL_SIZE {
                        pool.remove(0);
                    }
                }
            }
        }
        // Candidates may have been deleted (or lost their TTL) since sampled.
        while let Some((_, db, key)) = self.evict_pool.pop() {
            let d = &self.dbs[db];
            let valid = if policy.volatile_only() {
                d.expires.contains_key(&key)
            } else {
                d.keys.contains_key(&key)
            };
            if valid {
                return Some((db, key));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_expiry_and_watch_dirtying() {
        let mut s = Store::new(Config::default());
        s.set(0, b"k", Value::string(b"v"), false, 1000);
        s.set_expire(0, b"k", 1500);
        s.dbs[0]
            .watched
            .insert(Sds::from_slice(b"k"), vec![(7, false)]);
        assert!(s.lookup(0, b"k", 1400, Access::Read).is_some());
        assert!(s.dirty_cas.is_empty());
        assert!(s.lookup(0, b"k", 1500, Access::Read).is_none());
        assert!(s.dirty_cas.contains(&7));
        assert_eq!(s.stats.expired_keys, 1);
    }

    #[test]
    fn expiry_is_deferred_while_writes_are_paused() {
        let mut s = Store::new(Config::default());
        s.set(0, b"k", Value::string(b"v"), false, 1000);
        s.set_expire(0, b"k", 1500);
        s.admin.pause.extend(1000, 3000, false);
        let far = std::time::Instant::now() + std::time::Duration::from_secs(1);
        s.active_expire(2000, far);
        assert!(s.lookup(0, b"k", 2000, Access::Read).is_none());
        assert!(!s.exists(0, b"k", 2000));
        assert!(!s.delete(0, b"k", 2000));
        assert_eq!(s.dbs[0].keys.len(), 1, "still there during the pause");
        assert_eq!(s.stats.expired_keys, 0);
        s.active_expire(3000, far);
        assert!(s.dbs[0].keys.is_empty());
        assert_eq!(s.stats.expired_keys, 1);
    }

    #[test]
    fn active_cycle_removes_most_expired_keys() {
        let mut s = Store::new(Config::default());
        for i in 0..1000 {
            let k = format!("k{i}");
            s.set(0, k.as_bytes(), Value::string(b"v"), false, 0);
            s.set_expire(0, k.as_bytes(), if i < 900 { 10 } else { 1_000_000 });
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        s.active_expire(100, deadline);
        assert!(s.dbs[0].keys.len() < 400, "left {}", s.dbs[0].keys.len());
        assert!(s.dbs[0].keys.len() >= 100);
    }

    #[test]
    fn lru_eviction_prefers_idle_keys() {
        let mut s = Store::new(Config {
            maxmemory_policy: EvictionPolicy::AllKeysLru,
            ..Config::default()
        });
        for i in 0..200 {
            s.set(
                0,
                format!("old{i}").as_bytes(),
                Value::string(b"v"),
                false,
                0,
            );
        }
        for i in 0..200 {
            s.set(
                0,
                format!("new{i}").as_bytes(),
                Value::string(b"v"),
                false,
                100_000,
            );
        }
        let mut old = 0;
        for _ in 0..100 {
            let (db, k) = s
                .pick_victim(EvictionPolicy::AllKeysLru, 100_000)
                .expect("victim");
            old += k.starts_with(b"old") as usize;
            s.remove(db, &k);
        }
        assert!(old >= 95, "only {old}/100 victims were the idle keys");
    }

    #[test]
    fn volatile_ttl_evicts_nearest_expiry_first() {
        // Sampling is random: count over 20 fresh stores how often the victim
        // is in the earlier-expiring half (about 97% for the best of 5).
        let mut early = 0;
        for _ in 0..20 {
            let mut s = Store::new(Config::default());
            for i in 0..50 {
                s.set(0, format!("k{i}").as_bytes(), Value::string(b"v"), false, 0);
                s.set_expire(0, format!("k{i}").as_bytes(), 1_000 + i);
            }
            s.set(0, b"forever", Value::string(b"v"), false, 0);
            let (_, k) = s
                .pick_victim(EvictionPolicy::VolatileTtl, 0)
                .expect("victim");
            assert!(k.as_slice() != b"forever", "a key without TTL was picked");
            early += (s.dbs[0].expire_at(&k).expect("volatile") < 1_025) as usize;
        }
        assert!(
            early >= 14,
            "only {early}/20 victims were among the earliest to expire"
        );
    }

    #[test]
    fn lfu_counter_decays_per_minute() {
        let lru = (lfu_minutes(0) << 8) | 10;
        assert_eq!(lfu_decayed(lru, 3 * 60_000, 1), 7);
        assert_eq!(lfu_decayed(lru, 60 * 60_000, 1), 0);
    }
}
