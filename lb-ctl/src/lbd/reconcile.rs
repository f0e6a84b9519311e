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
        let key = RealKey {
            service: addr,
            ip: rs.ip,
            port,
        };
        let up = health.get(&key).copied().unwrap_or(true);
        any_up |= up && rs.weight > 0;
        let inhibit = rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure);
        if up || inhibit {
            let weight = if up { rs.weight } else { 0 };
            reals.push(DesiredReal {
                ip: rs.ip,
                port,
                weight,
                forward,
            });
        }
    }
    if let Some(sorry) = &vs.sorry_server {
        if !any_up {
            reals.retain(|r| !(r.ip == sorry.ip && r.port == sorry.port.0));
            reals.push(DesiredReal {
                ip: sorry.ip,
                port: sorry.port.0,
                weight: 1,
                forward,
            });
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
            if !want
                .reals
                .iter()
                .any(|r| r.ip == real.addr && r.port == real.port)
            {
                changes.push(Change::DeleteReal(want.addr, real.addr, real.port));
            }
        }
        for r in &want.reals {
            match have
                .reals
                .iter()
                .find(|h| h.addr == r.ip && h.port == r.port)
            {
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
pub fn reconcile(
    maps: &mut Maps,
    config: &Config,
    health: &HealthView,
) -> crate::Result<Vec<(Change, String)>> {
    let current = services::list(maps)?;
    let changes = plan(&current, &desired(config, health));
    for change in &changes {
        log::info!("data plane: {change:?}");
    }
    Ok(apply(maps, &changes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::{Egress, Real};
    use lb_common::RealConnCounts;

    const CONFIG: &str = r#"
virtual_servers:
  - vip: 198.18.0.100
    port: 6379
    lb_algo: mh
    lb_kind: dr
    real_servers:
      - { ip: 198.18.0.21, weight: 2, tcp_check: {} }
      - { ip: 198.18.0.22, tcp_check: {}, inhibit_on_failure: false }
  - vip: 198.18.0.100
    port: 2181
    lb_kind: tun
    sorry_server: { ip: 198.18.0.30, port: 2181 }
    real_servers:
      - { ip: 198.18.1.3, zk_ruok: {} }
"#;

    fn config(text: &str) -> Config {
        Config::parse("t.yaml", text).unwrap()
    }

    fn down(health: &mut HealthView, port: u16, ip: [u8; 4]) {
        let service = ServiceAddr::new(Ipv4Addr::new(198, 18, 0, 100), port, crate::Protocol::Tcp);
        health.insert(
            RealKey {
                service,
                ip: Ipv4Addr::from(ip),
                port,
            },
            false,
        );
    }

    /// What the maps would hold after applying `desired` to nothing.
    fn as_live(desired: &[DesiredService]) -> Vec<Service> {
        desired
            .iter()
            .enumerate()
            .map(|(i, d)| Service {
                id: i as u32,
                addr: d.addr,
                options: d.options,
                reals: d
                    .reals
                    .iter()
                    .enumerate()
                    .map(|(j, r)| Real {
                        id: j as u32,
                        addr: r.ip,
                        port: r.port,
                        weight: r.weight,
                        forward: r.forward,
                        egress: Egress::default(),
                        counts: RealConnCounts::default(),
                    })
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn all_up_gives_the_configured_weights() {
        let d = desired(&config(CONFIG), &HealthView::new());
        assert_eq!(d.len(), 2);
        let weights: Vec<u32> = d[0].reals.iter().map(|r| r.weight).collect();
        assert_eq!(weights, [2, 1]);
        assert_eq!(d[0].reals[0].forward, Forward::Dr);
        assert_eq!(d[1].reals.len(), 1, "no sorry server while a server is up");
    }

    #[test]
    fn a_down_server_is_drained_or_removed_and_the_sorry_server_steps_in() {
        let mut h = HealthView::new();
        down(&mut h, 6379, [198, 18, 0, 21]);
        down(&mut h, 6379, [198, 18, 0, 22]);
        down(&mut h, 2181, [198, 18, 1, 3]);
        let d = desired(&config(CONFIG), &h);
        // inhibit_on_failure (the default) keeps .21 at weight 0; .22 opted out.
        assert_eq!(d[0].reals.len(), 1);
        assert_eq!(
            (d[0].reals[0].ip, d[0].reals[0].weight),
            (Ipv4Addr::new(198, 18, 0, 21), 0)
        );
        let ips: Vec<(Ipv4Addr, u32)> = d[1].reals.iter().map(|r| (r.ip, r.weight)).collect();
        assert_eq!(
            ips,
            [
                (Ipv4Addr::new(198, 18, 1, 3), 0),
                (Ipv4Addr::new(198, 18, 0, 30), 1)
            ]
        );
    }

    #[test]
    fn planning_is_idempotent_and_touches_only_what_changed() {
        let before = config(CONFIG);
        let live = as_live(&desired(&before, &HealthView::new()));
        assert!(plan(&live, &desired(&before, &HealthView::new())).is_empty());

        let mut h = HealthView::new();
        down(&mut h, 6379, [198, 18, 0, 21]);
        let changes = plan(&live, &desired(&before, &h));
        assert_eq!(changes.len(), 1);
        assert!(matches!(&changes[0], Change::EditReal(a, r) if a.port == 6379 && r.weight == 0));

        // A reload that changes only the 2181 service leaves 6379 alone.
        let after = config(&CONFIG.replace("lb_kind: tun", "lb_kind: tun\n    lb_algo: rr"));
        let changes = plan(&live, &desired(&after, &HealthView::new()));
        assert!(!changes.is_empty());
        assert!(
            changes
                .iter()
                .all(|c| matches!(c, Change::EditService(a, _) if a.port == 2181)),
            "{changes:?}"
        );

        // Removing a service deletes it; adding a real adds just that one.
        let after = config(&CONFIG.replace(
            "      - { ip: 198.18.1.3, zk_ruok: {} }",
            "      - { ip: 198.18.1.3, zk_ruok: {} }\n      - { ip: 198.18.1.4 }",
        ));
        let changes = plan(&live, &desired(&after, &HealthView::new()));
        assert_eq!(changes.len(), 1);
        assert!(
            matches!(&changes[0], Change::AddReal(a, r) if a.port == 2181 && r.ip == Ipv4Addr::new(198, 18, 1, 4))
        );
        let only_first = config(
            &CONFIG[..CONFIG
                .find("  - vip: 198.18.0.100\n    port: 2181")
                .unwrap()],
        );
        let changes = plan(&live, &desired(&only_first, &HealthView::new()));
        assert_eq!(changes, [Change::DeleteService(live[1].addr)]);
    }
}
