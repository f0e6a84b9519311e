//! Redis-compatible key-value server (`kv-server`).
//!
//! Layout, after tokio's mini-redis: `connection` frames requests (RESP and
//! inline), `frame` encodes replies (RESP2/RESP3), `cmd` holds one file per
//! command family plus the dispatch table, `db` the keyspace with expiry and
//! eviction, `types` the value types, `server` the network loop.

pub mod admin;
pub mod alloc;
pub mod blocking;
pub mod clients;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod connection;
pub mod db;
pub mod frame;
pub mod info;
pub mod latency;
pub mod log;
pub mod pubsub;
pub mod rdb;
pub mod server;
pub mod slowlog;
pub mod stats;
pub mod types;
pub mod util;
