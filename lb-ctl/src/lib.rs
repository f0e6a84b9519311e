//! lb-ctl: the control plane of the XDP balancer. It loads and attaches
//! the programs, owns the pinned maps, keeps the service table (VIPs, real
//! servers, schedulers, Maglev tables), reads stats and the connection
//! table, and sweeps expired entries. `lbctl` (ipvsadm's language) and
//! `lbd` (keepalived's job) are thin binaries over it.

pub mod clock;
pub mod conns;
pub mod error;
pub mod ipvsadm;
pub mod lbd;
pub mod loader;
pub mod maps;
pub mod netlink;
pub mod sched;
pub mod services;
pub mod stats;

pub use error::{LbError, Result};
pub use lb_common::{ConnState, Forward, Scheduler};
pub use loader::{Balancer, Decap};
pub use maps::Maps;
pub use services::{Egress, Protocol, RealSpec, ServiceAddr, ServiceOptions};
