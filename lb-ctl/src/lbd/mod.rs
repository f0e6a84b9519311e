//! `lbd`, keepalived's job: YAML services, health checks, VRRPv3.

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
