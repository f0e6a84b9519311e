//! End-to-end with real clients: redis-cli and redis-benchmark against
//! kv-server, kazoo against coord-server, through the VIP in every mode;
//! scheduling measured from the servers' own counters (INFO, mntr).
//!
//! Slow (namespaces, real servers): run alone with `cargo xtask test --e2e`.

mod rig;

use lb_ctl::{Forward, Scheduler};
use rig::*;
use testbed::{Node, Role, VIP};

fn sh(node: &Node, line: &str) -> String {
    let out = node.command("sh").args(["-c", line]).output().unwrap();
    assert!(
        out.status.success(),
        "`{line}` in {}: {}",
        node.name(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A numeric field of `redis-cli info` asked of one real server directly.
fn info_field(rig: &Rig, role: Role, field: &str) -> u64 {
    let info = sh(
        rig.client(),
        &format!("redis-cli -h {} -p {REDIS_PORT} info", role.ip()),
    );
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO of {}", role.name()))
        .trim()
        .parse()
        .unwrap()
}

fn redis_through_the_vip(forward: Forward) {
    let reals = reals_of(forward);
    let rig = Rig::with_backend(Backend::Redis, forward, Scheduler::Rr, 0, &reals);
    let client = rig.client();
    // redis-cli as a user runs it: a pipe of commands on one connection.
    let out = sh(
        client,
        &format!("printf 'SET e2e:key hello\\nGET e2e:key\\nINCR e2e:n\\n' | redis-cli -h {VIP} -p {REDIS_PORT} --raw"),
    );
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["OK", "hello", "1"],
        "{forward:?}"
    );
    // redis-benchmark's 20 connections alternate between the two servers.
    let before: Vec<u64> = reals
        .iter()
        .map(|&r| info_field(&rig, r, "total_connections_received"))
        .collect();
    let bench = sh(
        client,
        &format!("redis-benchmark -h {VIP} -p {REDIS_PORT} -q -n 2000 -c 20 -t set,get"),
    );
    assert!(bench.contains("SET:") && bench.contains("GET:"), "{bench}");
    let after: Vec<u64> = reals
        .iter()
        .map(|&r| info_field(&rig, r, "total_connections_received"))
        .collect();
    let got: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    // Each test of redis-benchmark opens its 20 clients anew (+1 for its
    // CONFIG probe); rr splits them evenly.
    let total: u64 = got.iter().sum();
    assert!(total >= 40, "{forward:?}: {got:?}");
    for g in &got {
        assert!(g.abs_diff(total / 2) <= 1, "{forward:?}: rr split {got:?}");
    }
}

#[test]
fn redis_clients_work_through_the_vip_in_dr_mode() {
    redis_through_the_vip(Forward::Dr);
}

#[test]
fn redis_clients_work_through_the_vip_in_tun_mode() {
    redis_through_the_vip(Forward::Tun);
}

#[test]
fn redis_clients_work_through_the_vip_in_nat_mode() {
    redis_through_the_vip(Forward::Nat);
}

const KAZOO: &str = r#"
import sys
from kazoo.client import KazooClient
hosts, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    zk = KazooClient(hosts=hosts, timeout=5)
    zk.start(timeout=5)
    zk.create("/e2e-%d" % i, b"v%d" % i, ephemeral=True)
    data, stat = zk.get("/e2e-%d" % i)
    assert data == b"v%d" % i, data
    assert stat.ephemeralOwner == zk.client_id[0]
    zk.stop(); zk.close()
print("ok", n)
"#;

#[test]
fn kazoo_sessions_are_spread_over_the_coord_servers() {
    for forward in [Forward::Dr, Forward::Tun, Forward::Nat] {
        let reals = reals_of(forward);
        let rig = Rig::with_backend(Backend::Zk, forward, Scheduler::Rr, 0, &reals);
        let out = sh(
            rig.client(),
            &format!("timeout 60 python3 -c '{KAZOO}' {VIP}:{ZK_PORT} 6"),
        );
        assert_eq!(out.trim(), "ok 6", "{forward:?}");
        // Each server saw three sessions: its mntr counts the packets.
        for role in reals {
            let mntr = sh(
                rig.client(),
                &format!("echo mntr | nc -q 2 {} {ZK_PORT}", role.ip()),
            );
            let packets: u64 = mntr
                .lines()
                .find_map(|l| l.strip_prefix("zk_packets_received\t"))
                .expect("zk_packets_received in mntr")
                .trim()
                .parse()
                .unwrap();
            assert!(
                packets >= 3 * 4,
                "{forward:?} {}: {packets} packets",
                role.name()
            );
        }
    }
}

#[test]
fn weight_zero_drains_and_deleting_a_server_moves_only_its_flows() {
    let mut rig = Rig::new(Forward::Dr, Scheduler::Rr, &[Role::Rs1, Role::Rs2]);
    let mut held: Vec<Conn> = (0..4).map(|_| rig.connect()).collect();
    let owners: Vec<String> = held.iter_mut().map(|c| c.ask("hi")).collect();
    assert_eq!(owners, ["rs1", "rs2", "rs1", "rs2"]);

    // Drain rs1: its connections stay, new ones all go to rs2.
    rig.set_weight(Role::Rs1, 0);
    for (conn, owner) in held.iter_mut().zip(&owners) {
        assert_eq!(&conn.ask("still"), owner);
    }
    for _ in 0..4 {
        assert_eq!(rig.who_answers(), "rs2");
    }

    // Back to weight 1, then delete rs2: rs1's flows are untouched, rs2's
    // flows find rs1 when they reconnect.
    rig.set_weight(Role::Rs1, 1);
    rig.delete_real(Role::Rs2);
    for (conn, owner) in held.iter_mut().zip(&owners) {
        if owner == "rs1" {
            assert_eq!(conn.ask("untouched"), "rs1");
        }
    }
    for _ in 0..4 {
        assert_eq!(
            rig.who_answers(),
            "rs1",
            "reconnects land on the remaining server"
        );
    }
}

#[test]
fn persistence_keeps_a_client_on_one_server() {
    let rig = Rig::with_backend(
        Backend::Echo,
        Forward::Dr,
        Scheduler::Rr,
        300,
        &[Role::Rs1, Role::Rs2],
    );
    let first = rig.who_answers();
    for _ in 0..6 {
        assert_eq!(
            rig.who_answers(),
            first,
            "-p 300 keeps the client on {first}"
        );
    }
}
