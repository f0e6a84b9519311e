//! ZooKeeper-compatible coordination server.
//!
//! Requests flow as in ZooKeeper: [`prep`] validates a write and computes
//! its transaction, [`commit`] logs it with group-commit fsync (the future
//! replication point), and [`tree`] applies it to the one in-memory
//! DataTree before the reply goes out. [`core`] runs that pipeline on one
//! thread; [`server`] handles the sockets.

pub mod acl;
pub mod client;
pub mod commit;
pub mod config;
pub mod core;
pub mod fourlw;
pub mod jute;
pub mod prep;
pub mod proto;
pub mod server;
pub mod sessions;
pub mod snapshot;
pub mod tree;
pub mod txn;
pub mod txnlog;
pub mod watches;
