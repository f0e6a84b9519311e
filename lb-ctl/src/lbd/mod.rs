//! `lbd`, keepalived's job: YAML services, health checks, VRRPv3.
//!
//! - `config`: the YAML (DESIGN.md §5), validated with file:line errors;
//!   the only module that knows serde_yaml.
//! - `health` + `health_file`: application-level checks on their own tasks,
//!   and the verdicts published for `lbctl -L -n`.
//! - `reconcile`: config + health → the data plane, as a pure plan against
//!   the live maps, so a reload changes only what differs.
//! - `vrrp`: the RFC 5798 codec, the pure clock-injected state machine, the
//!   raw socket and the instance task; `garp` and `notify` are its effects.
//! - `vip`: VIP ownership with a watchdog process, so a SIGKILL never
//!   leaves two hosts holding the VIP.
//! - `sync`: the connection table synced master → backup over UDP.
//! - `metrics`: the Prometheus endpoint. `daemon` ties them together.

pub mod config;
pub mod daemon;
pub mod garp;
pub mod health;
pub mod health_file;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod reconcile;
pub mod sync;
pub mod vip;
pub mod vrrp;
