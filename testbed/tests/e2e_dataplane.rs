//! End-to-end tests of the XDP data plane: real TCP connections from the
//! client namespace to the VIP, through the balancer attached natively on
//! lb1, to tb-echo on the real servers, in DR, TUN and NAT mode.
//!
//! Slow (namespaces, real traffic): `cargo xtask test --e2e` runs these on
//! their own.

mod rig;

use lb_ctl::{conns, ConnState, Forward, Scheduler};
use rig::*;
use std::collections::HashMap;
use testbed::{Role, VIP};

/// The MACs replies must come from: DR answers straight from the real
/// servers, TUN through the router (the real servers' gateway), NAT through
/// the director that translates them back.
fn expected_reply_macs(rig: &Rig) -> Vec<[u8; 6]> {
    let mac = |role: Role| rig.topo.node(role).mac("eth0").unwrap().0;
    match rig.forward {
        Forward::Dr => reals_of(Forward::Dr).map(mac).to_vec(),
        Forward::Tun => vec![mac(Role::Router)],
        Forward::Nat => vec![mac(Role::Lb1)],
    }
}

fn run_mode(forward: Forward) {
    let [first, second] = reals_of(forward);
    let mut rig = Rig::new(forward, Scheduler::Rr, &[first]);
    let (first, second) = (first.name(), second.name());

    // Long-lived connections, all on the only server.
    let mut held: Vec<Conn> = (0..4).map(|_| rig.connect()).collect();
    for conn in &mut held {
        assert_eq!(conn.ask("hello"), first);
    }

    // A second server: new connections alternate (rr) ...
    rig.add_real(reals_of(forward)[1], 1);
    let mut counts: HashMap<String, u32> = HashMap::new();
    let order: Vec<String> = (0..10).map(|_| rig.who_answers()).collect();
    for who in &order {
        *counts.entry(who.clone()).or_default() += 1;
    }
    assert_eq!(counts.get(first), Some(&5), "{order:?}");
    assert_eq!(counts.get(second), Some(&5), "{order:?}");
    assert!(
        order.windows(2).all(|w| w[0] != w[1]),
        "rr alternates: {order:?}"
    );

    // ... and the established ones keep theirs.
    for conn in &mut held {
        assert_eq!(conn.ask("still there?"), first);
    }

    // The connection table knows them, established, on the first server.
    let table = conns::list(&rig.balancer.maps).unwrap();
    for conn in &held {
        let entry = table
            .iter()
            .find(|c| c.client.port() == conn.local_port())
            .expect("held connection in the table");
        assert_eq!(entry.state, ConnState::Established);
        assert_eq!(*entry.destination.ip(), reals_of(forward)[0].ip());
        assert_eq!(*entry.virtual_addr.ip(), VIP);
    }

    // The director forwards without a handshake of its own: no socket of
    // lb1 holds the VIP connections (the notes' `netstat -natp` check).
    let sockets = rig.topo.node(Role::Lb1).run(&["ss", "-Htan"]).unwrap();
    assert!(
        !sockets.contains(&format!("{VIP}:{PORT}")),
        "lb1 has sockets for the VIP: {sockets}"
    );

    // Which hop the replies came from.
    let macs = reply_source_macs(rig.client(), VIP, || {
        for _ in 0..3 {
            rig.who_answers();
        }
    });
    assert!(!macs.is_empty(), "no reply from the VIP captured");
    let allowed = expected_reply_macs(&rig);
    for mac in macs {
        assert!(
            allowed.contains(&mac),
            "{forward:?}: reply from {mac:02x?}, expected one of {allowed:02x?}"
        );
    }
}

#[test]
fn dr_mode_balances_and_replies_come_straight_from_the_real_servers() {
    run_mode(Forward::Dr);
}

#[test]
fn tun_mode_balances_through_ipip_and_replies_bypass_the_director() {
    run_mode(Forward::Tun);
}

#[test]
fn nat_mode_balances_and_translates_the_replies_back() {
    run_mode(Forward::Nat);
}

#[test]
fn wrr_distribution_follows_the_weights_across_namespaces() {
    let mut rig = Rig::new(Forward::Dr, Scheduler::Wrr, &[]);
    rig.add_real(Role::Rs1, 3);
    rig.add_real(Role::Rs2, 1);
    let mut counts: HashMap<String, u32> = HashMap::new();
    for _ in 0..20 {
        *counts.entry(rig.who_answers()).or_default() += 1;
    }
    assert_eq!(counts.get("rs1"), Some(&15), "{counts:?}");
    assert_eq!(counts.get("rs2"), Some(&5), "{counts:?}");
}
