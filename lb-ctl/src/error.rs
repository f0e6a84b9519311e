//! Errors of the control plane. Messages read like ipvsadm's where there is
//! an ipvsadm equivalent, because scripts and people match on them.

use std::net::Ipv4Addr;

#[derive(Debug, thiserror::Error)]
pub enum LbError {
    #[error("Service already exists")]
    ServiceExists,
    #[error("No such service")]
    NoSuchService,
    #[error("Destination already exists")]
    DestinationExists,
    #[error("No such destination")]
    NoSuchDestination,
    #[error("Too many services (the data plane holds {0})")]
    TooManyServices(u32),
    #[error("Too many destinations for this service (the data plane holds {0})")]
    TooManyDestinations(usize),
    #[error("Scheduler not found: {0}")]
    NoSuchScheduler(String),
    #[error("cannot resolve the next hop towards {addr}: {reason}")]
    NextHop { addr: Ipv4Addr, reason: String },
    #[error(
        "the data plane is not loaded: no pinned maps in {0} (attach an interface first, \
         e.g. `lbctl attach eth0`)"
    )]
    NotLoaded(String),
    #[error("{0}")]
    Map(#[from] aya::maps::MapError),
    #[error("{0}")]
    Program(#[from] aya::programs::ProgramError),
    #[error("{0}")]
    Ebpf(#[from] aya::EbpfError),
    #[error("{0}")]
    Sched(#[from] crate::sched::SchedError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, LbError>;
