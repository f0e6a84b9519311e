//! Conn sync between two loaded balancers (no namespaces): what the
//! master's table holds reaches the backup's table with the backup's own
//! ids, rounds resend only what changed, and junk is ignored.

use lb_common::{ip_to_net, port_to_net, ConnEntry, ConnState, FlowKey, PersistEntry, PersistKey};
use lb_ctl::lbd::sync::{apply, decode, encode, Sender, PER_DATAGRAM};
use lb_ctl::services::{self, Egress, Protocol, RealSpec, ServiceAddr, ServiceOptions};
use lb_ctl::{clock, conns, Balancer, Forward, Scheduler};
use std::net::Ipv4Addr;

const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);

fn real(n: u8) -> RealSpec {
    RealSpec {
        addr: Ipv4Addr::new(198, 18, 0, 20 + n),
        port: 6379,
        weight: 1,
        forward: Forward::Dr,
        egress: Some(Egress {
            ifindex: 1,
            next_hop_mac: [2, 0, 0, 0, 1, n],
            src_mac: [2, 0, 0, 0, 0, 0x11],
        }),
    }
}

/// A balancer with one service; `reals` in the given order, so the two
/// directors' real ids differ when the orders do.
fn director(reals: &[u8]) -> (Balancer, ServiceAddr) {
    let mut b = Balancer::load(None).expect("load the balancer (run as root)");
    let svc = ServiceAddr::new(VIP, 6379, Protocol::Tcp);
    let opts = ServiceOptions {
        scheduler: Scheduler::Rr,
        persistence: 0,
        flags: 0,
    };
    services::add_service(&mut b.maps, &svc, &opts).unwrap();
    for &n in reals {
        services::add_real(&mut b.maps, &svc, &real(n)).unwrap();
    }
    (b, svc)
}

fn flow(client_port: u16) -> FlowKey {
    FlowKey {
        saddr: ip_to_net(Ipv4Addr::new(198, 18, 0, 2)),
        daddr: ip_to_net(VIP),
        sport: port_to_net(client_port),
        dport: port_to_net(6379),
        proto: 6,
        _pad: [0; 3],
    }
}

fn track(b: &mut Balancer, svc: &ServiceAddr, client_port: u16, real_n: u8, state: ConnState) {
    let s = services::get(&b.maps, svc).unwrap();
    let r = s
        .reals
        .iter()
        .find(|r| r.addr == real(real_n).addr)
        .unwrap();
    let entry = ConnEntry {
        last_seen_ns: clock::monotonic_ns(),
        real_id: r.id,
        service_id: s.id,
        state: state as u8,
        ..Default::default()
    };
    b.maps.conns.insert(flow(client_port), entry, 0).unwrap();
}

/// Sends one round through the wire format, as the UDP path does.
fn ship(sender: &mut Sender, from: &Balancer, to: &mut Balancer) -> usize {
    let round = sender.round(&from.maps).unwrap();
    for batch in round.chunks(PER_DATAGRAM) {
        let entries = decode(&encode(batch)).unwrap();
        apply(&mut to.maps, &entries).unwrap();
    }
    round.len()
}

#[test]
fn the_backup_learns_the_masters_flows_under_its_own_ids() {
    let (mut master, svc) = director(&[1, 2]);
    let (mut backup, _) = director(&[2, 1]);
    for port in 40000..40120 {
        let n = if port % 2 == 0 { 1 } else { 2 };
        track(&mut master, &svc, port, n, ConnState::Established);
    }
    let mut sender = Sender::default();
    assert_eq!(ship(&mut sender, &master, &mut backup), 120);

    let by_client = |b: &Balancer| {
        let mut v: Vec<(u16, Ipv4Addr, u8)> = conns::list(&b.maps)
            .unwrap()
            .into_iter()
            .map(|c| (c.client.port(), *c.destination.ip(), c.state as u8))
            .collect();
        v.sort();
        v
    };
    assert_eq!(by_client(&backup), by_client(&master));
    let id_of = |b: &Balancer, addr: Ipv4Addr| {
        let s = services::get(&b.maps, &svc).unwrap();
        s.reals.iter().find(|r| r.addr == addr).unwrap().id
    };
    assert_ne!(
        id_of(&master, real(1).addr),
        id_of(&backup, real(1).addr),
        "the directors number their servers differently, and it does not matter"
    );

    // Nothing changed: the next round sends nothing.
    assert_eq!(ship(&mut sender, &master, &mut backup), 0);
    // A state change is sent again.
    track(&mut master, &svc, 40000, 1, ConnState::FinWait);
    assert_eq!(ship(&mut sender, &master, &mut backup), 1);
    let on_backup = conns::list(&backup.maps).unwrap();
    let c = on_backup.iter().find(|c| c.client.port() == 40000).unwrap();
    assert_eq!(c.state, ConnState::FinWait);
}

#[test]
fn persistence_templates_follow_the_flows() {
    let (mut master, svc) = director(&[1, 2]);
    let (mut backup, _) = director(&[2, 1]);
    let client = Ipv4Addr::new(198, 18, 0, 2);
    let service = services::get(&master.maps, &svc).unwrap();
    let real2 = service
        .reals
        .iter()
        .find(|r| r.addr == real(2).addr)
        .unwrap()
        .id;
    let key = PersistKey {
        service_id: service.id,
        saddr: ip_to_net(client),
    };
    let entry = PersistEntry {
        last_seen_ns: clock::monotonic_ns(),
        real_id: real2,
        _pad: 0,
    };
    master.maps.persist.insert(key, entry, 0).unwrap();
    let mut sender = Sender::default();
    assert_eq!(ship(&mut sender, &master, &mut backup), 1);
    let on_backup = services::get(&backup.maps, &svc).unwrap();
    let want = on_backup
        .reals
        .iter()
        .find(|r| r.addr == real(2).addr)
        .unwrap()
        .id;
    let got = backup
        .maps
        .persist
        .get(
            &PersistKey {
                service_id: on_backup.id,
                saddr: ip_to_net(client),
            },
            0,
        )
        .expect("the template reached the backup");
    assert_eq!(got.real_id, want);
    assert_eq!(ship(&mut sender, &master, &mut backup), 0, "sent once");
}

#[test]
fn entries_for_unknown_services_or_servers_are_skipped() {
    let (mut master, svc) = director(&[1, 2, 3]);
    let (mut backup, _) = director(&[1, 2]);
    track(&mut master, &svc, 50000, 3, ConnState::Established);
    track(&mut master, &svc, 50001, 1, ConnState::Established);
    let round = Sender::default().round(&master.maps).unwrap();
    assert_eq!(round.len(), 2);
    assert_eq!(
        apply(&mut backup.maps, &round).unwrap(),
        1,
        "real 3 is unknown on the backup"
    );
    assert_eq!(decode(b"LBS1\x00\x05short"), None);
}
