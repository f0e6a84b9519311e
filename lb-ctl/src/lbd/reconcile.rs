//! Brings the data plane to what the config and the health checks say.
//! `desired` and `plan` are pure; `apply` performs the plan through
//! lb_ctl::services. Planning against the live maps makes every pass
//! idempotent and makes a reload touch only what changed: an unchanged
//! service is not edited, so its ring and its connections stay.

use super::config::{Config, VirtualServer};
use super::health::RealKey;
use crate::maps::Maps;
use crate::services::{self, RealSpec, Service, ServiceAddr, ServiceOptions};
use crate::Forward;
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// Health as the checkers last reported it; a real server not listed is
/// up (keepalived starts servers up).
pub type HealthView = HashMap<RealKey, bool>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesiredReal {
    pub ip: Ipv4Addr,
    pub port: u16,
    pub weight: u32,
    pub forward: Forward,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    pub addr: ServiceAddr,
    pub options: ServiceOptions,
    pub reals: Vec<DesiredReal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    AddService(ServiceAddr, ServiceOptions),
    EditService(ServiceAddr, ServiceOptions),
    DeleteService(ServiceAddr),
    AddReal(ServiceAddr, DesiredReal),
    EditReal(ServiceAddr, DesiredReal),
    DeleteReal(ServiceAddr, Ipv4Addr, u16),
}

/// The services the data plane should hold now.
pub fn desired(config: &Config, health: &HealthView) -> Vec<DesiredService> {
    config
        .virtual_servers
        .iter()
        .map(|vs| desired_service(vs, health))
        .collect()
}

fn desired_service(vs: &VirtualServer, health: &HealthView) -> DesiredService {
    let addr = vs.addr();
    let forward = vs.lb_kind.0;
    let mut reals = Vec::new();
    let mut any_up = false;
    for rs in &vs.real_servers {
        let port = rs.port_or(addr.port);
        let key = RealKey { service: addr, ip: rs.ip, port };
        let up = health.get(&key).copied().unwrap_or(true);
        any_up |= up && rs.weight > 0;
        let inhibit = rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure);
        if up || inhibit {
            let weight = if up { rs.weight } else { 0 };
            reals.push(DesiredReal { ip: rs.ip, port, weight, forward });
        }
    }
    if let Some(sorry) = &vs.sorry_server {
        if !any_up {
            reals.retain(|r| !(r.ip == sorry.ip && r.port == sorry.port.0));
            reals.push(DesiredReal { ip: sorry.ip, port: sorry.port.0, weight: 1, forward });
        }
    }
    DesiredService {
        addr,
        options: ServiceOptions {
            scheduler: vs.lb_algo.0,
            persistence: vs.persistence_timeout,
            flags: 0,
        },
        reals,
    }
}

/// What to change to go from `current` to `desired`.
pub fn plan(current: &[Service], desired: &[DesiredService]) -> Vec<Change> {
    let mut changes = Vec::new();
    for have in current {
        if !desired.iter().any(|d| d.addr == have.addr) {
            changes.push(Change::DeleteService(have.addr));
        }
    }
    for want in desired {
        let Some(have) = current.iter().find(|s| s.addr == want.addr) else {
            changes.push(Change::AddService(want.addr, want.options));
            changes.extend(want.reals.iter().map(|r| Change::AddReal(want.addr, *r)));
            continue;
        };
        if have.options != want.options {
            changes.push(Change::EditService(want.addr, want.options));
        }
        for real in &have.reals {
            if !want.reals.iter().any(|r| r.ip == real.addr && r.port == real.port) {
                changes.push(Change::DeleteReal(want.addr, real.addr, real.port));
            }
        }
        for r in &want.reals {
            match have.reals.iter().find(|h| h.addr == r.ip && h.port == r.port) {
                None => changes.push(Change::AddReal(want.addr, *r)),
                Some(h) if h.weight != r.weight || h.forward != r.forward => {
                    changes.push(Change::EditReal(want.addr, *r))
                }
                Some(_) => {}
            }
        }
    }
    changes
}

/// Applies the changes in order; a failing change (a next hop not yet
/// resolvable, say) is reported and the rest still go in. The next pass
/// retries it.
pub fn apply(maps: &mut Maps, changes: &[Change]) -> Vec<(Change, String)> {
    let mut failed = Vec::new();
    for change in changes {
        let result = match change {
            Change::AddService(a, o) => services::add_service(maps, a, o),
            Change::EditService(a, o) => services::edit_service(maps, a, o),
            Change::DeleteService(a) => services::delete_service(maps, a),
            Change::AddReal(a, r) => services::add_real(maps, a, &spec(r)),
            Change::EditReal(a, r) => services::edit_real(maps, a, &spec(r)),
            Change::DeleteReal(a, ip, port) => services::delete_real(maps, a, *ip, *port),
        };
        if let Err(e) = result {
            failed.push((change.clone(), e.to_string()));
        }
    }
    failed
}

fn spec(r: &DesiredReal) -> RealSpec {
    RealSpec {
        addr: r.ip,
        port: r.port,
        weight: r.weight,
        forward: r.forward,
        egress: None,
    }
}

/// One reconcile pass: plan against the live maps, apply, report.
pub fn reconcile(maps: &mut Maps, config: &Config, health: &HealthView) -> crate::Result<Vec<(Change, String)>> {
    let current = services::list(maps)?;
    let changes = plan(&current, &desired(config, health));
    for change in &changes {
        log::info!("data plane: {change:?}");
    }
    Ok(apply(maps, &changes))
}
