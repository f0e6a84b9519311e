//! One VRRP instance as a task: the state machine driven by its timers
//! and the raw socket, with the effects of each transition (VIPs,
//! gratuitous ARPs, notify scripts, a report to the daemon).

use super::machine::{Action, Machine, Params, State};
use super::packet::{Advert, VRRP_GROUP};
use super::socket::VrrpSocket;
use crate::lbd::config::VrrpInstance;
use crate::lbd::vip::VipOwner;
use crate::lbd::{garp, notify};
use crate::netlink;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// A transition, for the daemon (attach the balancer, metrics).
#[derive(Debug, Clone)]
pub struct StateEvent {
    pub instance: String,
    pub interface: String,
    pub state: State,
    pub priority: u8,
}

struct Link {
    ifindex: u32,
    mac: [u8; 6],
    local_ip: Ipv4Addr,
}

fn resolve_link(vi: &VrrpInstance) -> Result<Link, String> {
    let ifname = &vi.interface;
    let ifindex =
        netlink::interface_index(ifname).map_err(|e| format!("interface {ifname}: {e}"))?;
    let mac = netlink::interface_mac(ifname).map_err(|e| format!("interface {ifname}: {e}"))?;
    let local_ip = match vi.unicast_src_ip {
        Some(ip) => ip,
        None => netlink::interface_ipv4s(ifname)
            .map_err(|e| format!("interface {ifname}: {e}"))?
            .into_iter()
            .map(|(ip, _)| ip)
            .find(|ip| !vi.virtual_ipaddress.iter().any(|v| v.addr == *ip))
            .ok_or_else(|| {
                format!("interface {ifname} has no IPv4 address of its own to send adverts from")
            })?,
    };
    Ok(Link {
        ifindex,
        mac,
        local_ip,
    })
}

fn open(vi: &VrrpInstance) -> Result<(Link, VrrpSocket), String> {
    let link = resolve_link(vi)?;
    let socket = VrrpSocket::open(&vi.interface, link.ifindex, vi.unicast_peers.is_empty())
        .map_err(|e| format!("VRRP socket on {}: {e}", vi.interface))?;
    Ok((link, socket))
}

/// Runs the instance until `stop` turns true; then resigns (priority 0)
/// if MASTER and removes the VIPs.
pub async fn run(
    vi: VrrpInstance,
    vips: Arc<VipOwner>,
    events: mpsc::UnboundedSender<StateEvent>,
    mut stop: watch::Receiver<bool>,
) {
    // A missing interface (or one without an address yet) is a FAULT
    // that lasts until it appears, as in keepalived; not a fatal error.
    let mut reported = false;
    let (link, socket) = loop {
        match open(&vi) {
            Ok(opened) => break opened,
            Err(e) => {
                if !reported {
                    reported = true;
                    log::error!("{}: {e}; FAULT until it is fixed", vi.display_name());
                    let _ = events.send(StateEvent {
                        instance: vi.display_name(),
                        interface: vi.interface.clone(),
                        state: State::Fault,
                        priority: vi.priority.0,
                    });
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    };
    let mut runner = Runner {
        name: vi.display_name(),
        advert_addresses: vi.virtual_ipaddress.iter().map(|c| c.addr).collect(),
        machine: Machine::new(
            Params {
                priority: vi.priority.0,
                advert_centis: vi.advert_int.centis,
                preempt: vi.preempts(),
                preempt_delay: vi.preempt_delay.0,
                local_ip: link.local_ip,
            },
            Instant::now().into_std(),
        ),
        vi,
        link,
        socket,
        vips,
        events,
        garp_refresh_at: None,
        warned_mismatch: false,
        last_heard: None,
    };
    log::info!(
        "{}: VRRPv3 on {} from {}, vrid {}, priority {}, advert {:?}",
        runner.name,
        runner.vi.interface,
        runner.link.local_ip,
        runner.vi.virtual_router_id.0,
        runner.vi.priority.0,
        runner.vi.advert_int.duration()
    );
    let mut link_check = tokio::time::interval(LINK_CHECK);
    let mut link_up = None;
    loop {
        let deadline = earliest(
            runner.machine.next_deadline().map(Instant::from_std),
            runner.garp_refresh_at,
        );
        tokio::select! {
            _ = sleep_until(deadline) => {
                let now = Instant::now();
                let actions = runner.machine.on_timer(now.into_std());
                runner.perform(actions);
                runner.refresh_garp(now);
            }
            received = runner.socket.recv() => match received {
                Ok(Ok(r)) => runner.on_packet(r),
                Ok(Err(reason)) => log::debug!("{}: dropped a packet: {reason}", runner.name),
                Err(e) => {
                    log::error!("{}: VRRP socket: {e}", runner.name);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = link_check.tick() => {
                let up = link_is_up(&runner.vi.interface);
                if link_up != Some(up) {
                    link_up = Some(up);
                    let now = Instant::now().into_std();
                    let actions = if up { runner.machine.start(now) } else { runner.machine.fault() };
                    if !up {
                        log::warn!("{}: {} is down", runner.name, runner.vi.interface);
                    }
                    runner.perform(actions);
                }
            }
            _ = stop.changed() => break,
        }
    }
    let actions = runner.machine.shutdown();
    runner.perform(actions);
}

/// How often the interface's state is polled (FAULT detection).
const LINK_CHECK: Duration = Duration::from_millis(100);

/// IFF_UP and IFF_RUNNING (carrier) on `ifname`, from SIOCGIFFLAGS.
fn link_is_up(ifname: &str) -> bool {
    // SAFETY: a plain datagram socket for the ioctl, closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return false;
    }
    // SAFETY: ifreq is plain data; zero is a valid start.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req
        .ifr_name
        .iter_mut()
        .zip(ifname.bytes().take(libc::IFNAMSIZ - 1))
    {
        *dst = src as libc::c_char;
    }
    // SAFETY: req is a valid ifreq naming the interface.
    let rc = unsafe { libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) };
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    if rc < 0 {
        return false;
    }
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    let flags = unsafe { req.ifr_ifru.ifru_flags } as libc::c_int;
    flags & libc::IFF_UP != 0 && flags & libc::IFF_RUNNING != 0
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

struct Runner {
    name: String,
    vi: VrrpInstance,
    link: Link,
    socket: VrrpSocket,
    machine: Machine,
    vips: Arc<VipOwner>,
    events: mpsc::UnboundedSender<StateEvent>,
    advert_addresses: Vec<Ipv4Addr>,
    garp_refresh_at: Option<Instant>,
    warned_mismatch: bool,
    /// The last (sender, priority) heard, to log changes only.
    last_heard: Option<(Ipv4Addr, u8)>,
}

impl Runner {
    fn on_packet(&mut self, r: super::socket::Received) {
        if r.advert.vrid != self.vi.virtual_router_id.0 || r.src == self.link.local_ip {
            return;
        }
        if !self.vi.unicast_peers.is_empty() && !self.vi.unicast_peers.contains(&r.src) {
            log::debug!(
                "{}: advert from {} who is not a unicast peer",
                self.name,
                r.src
            );
            return;
        }
        if r.advert.addresses != self.advert_addresses && !self.warned_mismatch {
            self.warned_mismatch = true;
            log::warn!(
                "{}: {} advertises {:?}, we have {:?} (configs differ?)",
                self.name,
                r.src,
                r.advert.addresses,
                self.advert_addresses
            );
        }
        let actions = self.machine.on_advert(
            Instant::now().into_std(),
            r.src,
            r.advert.priority,
            r.advert.max_advert_centis,
        );
        if self.last_heard != Some((r.src, r.advert.priority)) {
            self.last_heard = Some((r.src, r.advert.priority));
            log::info!(
                "{}: advert from {} priority {}",
                self.name,
                r.src,
                r.advert.priority
            );
        }
        self.perform(actions);
    }

    fn perform(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Send(priority) => self.send(priority),
                Action::Enter(state) => self.enter(state),
            }
        }
    }

    fn send(&self, priority: u8) {
        let advert = Advert {
            vrid: self.vi.virtual_router_id.0,
            priority,
            max_advert_centis: self.vi.advert_int.centis,
            addresses: self.advert_addresses.clone(),
        };
        let destinations = if self.vi.unicast_peers.is_empty() {
            vec![VRRP_GROUP]
        } else {
            self.vi.unicast_peers.clone()
        };
        for dst in destinations {
            if let Err(e) = self.socket.send(&advert, self.link.local_ip, dst) {
                log::warn!("{}: advert to {dst}: {e}", self.name);
            }
        }
    }

    fn enter(&mut self, state: State) {
        log::info!("{}: entering {} state", self.name, state.name());
        match state {
            State::Master => {
                for vip in &self.vi.virtual_ipaddress {
                    if let Err(e) = self.vips.add(&self.vi.interface, vip) {
                        log::error!("{}: {e}", self.name);
                    }
                }
                self.send_garps();
                // keepalived's second burst after garp_master_delay, then
                // one every garp_master_refresh.
                let delay = self.vi.garp_master_delay.0;
                self.garp_refresh_at =
                    (!delay.is_zero())
                        .then(|| Instant::now() + delay)
                        .or_else(|| {
                            (!self.vi.garp_master_refresh.0.is_zero())
                                .then(|| Instant::now() + self.vi.garp_master_refresh.0)
                        });
            }
            State::Backup | State::Init | State::Fault => {
                self.garp_refresh_at = None;
                for vip in &self.vi.virtual_ipaddress {
                    if let Err(e) = self.vips.del(&self.vi.interface, vip) {
                        log::error!("{}: {e}", self.name);
                    }
                }
            }
        }
        notify::transition(&self.vi, state, self.machine.priority());
        let _ = self.events.send(StateEvent {
            instance: self.name.clone(),
            interface: self.vi.interface.clone(),
            state,
            priority: self.machine.priority(),
        });
    }

    fn send_garps(&self) {
        for _ in 0..self.vi.garp_master_repeat.max(1) {
            if let Err(e) = garp::send(self.link.ifindex, self.link.mac, &self.advert_addresses) {
                log::warn!("{}: gratuitous ARP: {e}", self.name);
                return;
            }
        }
    }

    fn refresh_garp(&mut self, now: Instant) {
        if self.garp_refresh_at.is_some_and(|t| t <= now) {
            self.send_garps();
            let refresh = self.vi.garp_master_refresh.0;
            self.garp_refresh_at = (!refresh.is_zero()).then(|| now + refresh);
        }
    }
}
