// rtnetlink helpers against a real kernel, checked against what `ip` says.
//
// Each test builds its own pair of network namespaces joined by a veth
// (va in A = 198.19.250.1/24, vb in B = 198.19.250.2/24, and in A a route
// 203.0.113.0/24 via B), runs the library on a thread that entered A with
// setns(2), and deletes both namespaces when it ends, even on failure.
// Needs root and iproute2.
//
// (Plain `//` comments only: a scratch crate `include!`s this file.)

use lb_ctl::netlink::{self, NetlinkError};
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const A_ADDR: Ipv4Addr = Ipv4Addr::new(198, 19, 250, 1);
const B_ADDR: Ipv4Addr = Ipv4Addr::new(198, 19, 250, 2);
const ABSENT_ON_LINK: Ipv4Addr = Ipv4Addr::new(198, 19, 250, 77);
const BEHIND_B: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 5);

/// Runs `ip ARGS`, panicking with its stderr on failure; returns stdout.
fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 from ip")
}

/// A named network namespace, deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn create(tag: &str) -> Netns {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "lbnl-{}-{}-{tag}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NAME ARGS`.
    fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        ip(&full)
    }

    /// Runs `f` on a fresh thread that has entered this namespace (setns
    /// affects only the calling thread, so the test thread stays put).
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::scope(|scope| {
            let handle = scope.spawn(|| {
                let ns = File::open(&path).expect("open the netns file");
                // SAFETY: setns on a valid namespace fd, for this thread only.
                let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            });
            match handle.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// `(ifindex, MAC)` of `dev` as `ip -j link show` reports them.
    fn link(&self, dev: &str) -> (u32, [u8; 6]) {
        let json: serde_json::Value =
            serde_json::from_str(&self.ip(&["-j", "link", "show", "dev", dev])).unwrap();
        let link = &json[0];
        let index = link["ifindex"].as_u64().expect("ifindex") as u32;
        (index, parse_mac(link["address"].as_str().expect("address")))
    }

    /// The IPv4 addresses of `dev` as `ip -j addr show` reports them.
    fn ipv4s(&self, dev: &str) -> Vec<(Ipv4Addr, u8)> {
        let json: serde_json::Value =
            serde_json::from_str(&self.ip(&["-j", "-4", "addr", "show", "dev", dev])).unwrap();
        json[0]["addr_info"]
            .as_array()
            .expect("addr_info")
            .iter()
            .map(|a| {
                (
                    a["local"].as_str().unwrap().parse().unwrap(),
                    a["prefixlen"].as_u64().unwrap() as u8,
                )
            })
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting A also removes the veth pair. Errors are ignored: this
        // may run while unwinding from a failed assertion.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn parse_mac(s: &str) -> [u8; 6] {
    let bytes: Vec<u8> = s
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).expect("hex MAC byte"))
        .collect();
    bytes.try_into().expect("6-byte MAC")
}

/// Namespaces A and B joined by veth va (A) — vb (B).
struct Pair {
    a: Netns,
    b: Netns,
}

fn pair() -> Pair {
    let pair = Pair {
        a: Netns::create("a"),
        b: Netns::create("b"),
    };
    pair.a.ip(&[
        "link",
        "add",
        "va",
        "type",
        "veth",
        "peer",
        "name",
        "vb",
        "netns",
        &pair.b.name,
    ]);
    pair.a.ip(&["addr", "add", "198.19.250.1/24", "dev", "va"]);
    pair.b.ip(&["addr", "add", "198.19.250.2/24", "dev", "vb"]);
    pair.a.ip(&["link", "set", "va", "up"]);
    pair.b.ip(&["link", "set", "vb", "up"]);
    pair.a
        .ip(&["route", "add", "203.0.113.0/24", "via", "198.19.250.2"]);
    pair
}

#[test]
fn interface_facts_match_ip_link() {
    let p = pair();
    let (index, mac) = p.a.link("va");
    let (got_index, got_mac, got_addrs, missing) = p.a.run(|| {
        assert_eq!(netlink::interface_name(index).unwrap(), "va");
        assert_eq!(netlink::interface_mac_by_index(index).unwrap(), mac);
        (
            netlink::interface_index("va").unwrap(),
            netlink::interface_mac("va").unwrap(),
            netlink::interface_ipv4s("va").unwrap(),
            netlink::interface_index("vb"), // lives in the other namespace
        )
    });
    assert_eq!(got_index, index);
    assert_eq!(got_mac, mac);
    assert_eq!(got_addrs, vec![(A_ADDR, 24)]);
    assert_eq!(got_addrs, p.a.ipv4s("va"));
    assert!(
        matches!(missing, Err(NetlinkError::NoSuchInterface(ref n)) if n == "vb"),
        "{missing:?}"
    );
}

#[test]
fn route_get_answers_like_ip_route_get() {
    let p = pair();
    let (va, _) = p.a.link("va");
    let (on_link, via_b, nowhere) = p.a.run(|| {
        (
            netlink::route_get(B_ADDR).unwrap(),
            netlink::route_get(BEHIND_B).unwrap(),
            // No default route in A.
            netlink::route_get(Ipv4Addr::new(192, 0, 2, 1)),
        )
    });
    assert_eq!(
        on_link,
        netlink::Route {
            ifindex: va,
            gateway: None,
            prefsrc: Some(A_ADDR)
        }
    );
    assert_eq!(via_b.ifindex, va);
    assert_eq!(via_b.gateway, Some(B_ADDR));
    assert_eq!(via_b.prefsrc, Some(A_ADDR));
    assert!(
        matches!(nowhere, Err(NetlinkError::NoRoute(a)) if a == Ipv4Addr::new(192, 0, 2, 1)),
        "{nowhere:?}"
    );
    // Cross-check with iproute2's own answer.
    let json: serde_json::Value =
        serde_json::from_str(&p.a.ip(&["-j", "route", "get", "203.0.113.5"])).unwrap();
    assert_eq!(json[0]["gateway"].as_str(), Some("198.19.250.2"));
    assert_eq!(json[0]["prefsrc"].as_str(), Some("198.19.250.1"));
}

#[test]
fn resolve_next_hop_mac_arps_for_the_peer() {
    let p = pair();
    let (va, _) = p.a.link("va");
    let (_, vb_mac) = p.b.link("vb");
    let (before, direct, routed, after) = p.a.run(|| {
        (
            netlink::neighbour_mac(va, B_ADDR).unwrap(),
            netlink::resolve_next_hop_mac(B_ADDR).unwrap(),
            netlink::resolve_next_hop_mac(BEHIND_B).unwrap(),
            netlink::neighbour_mac(va, B_ADDR).unwrap(),
        )
    });
    assert_eq!(before, None, "a fresh namespace has no neighbour entry");
    assert_eq!(
        direct,
        netlink::NextHop {
            ifindex: va,
            gateway: None,
            mac: vb_mac
        }
    );
    assert_eq!(
        routed,
        netlink::NextHop {
            ifindex: va,
            gateway: Some(B_ADDR),
            mac: vb_mac
        }
    );
    assert_eq!(after, Some(vb_mac));
    // The kernel's table agrees.
    let json: serde_json::Value =
        serde_json::from_str(&p.a.ip(&["-j", "neigh", "show", "198.19.250.2", "dev", "va"]))
            .unwrap();
    assert_eq!(
        parse_mac(json[0]["lladdr"].as_str().expect("lladdr")),
        vb_mac
    );
}

#[test]
fn unresolvable_next_hop_is_a_clear_bounded_error() {
    let p = pair();
    let started = Instant::now();
    let result = p.a.run(|| netlink::resolve_next_hop_mac(ABSENT_ON_LINK));
    let elapsed = started.elapsed();
    let err = result.expect_err("nobody owns 198.19.250.77");
    assert!(
        matches!(err, NetlinkError::NeighbourUnresolved { next_hop, .. } if next_hop == ABSENT_ON_LINK),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("198.19.250.77"), "{message}");
    assert!(message.contains("on va"), "{message}");
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    // A local address has no next hop at all.
    let local = p.a.run(|| netlink::resolve_next_hop_mac(A_ADDR));
    assert!(
        matches!(local, Err(NetlinkError::LocalAddress(a)) if a == A_ADDR),
        "{local:?}"
    );
}

#[test]
fn add_and_del_ipv4_are_idempotent() {
    let p = pair();
    let vip = Ipv4Addr::new(198, 19, 251, 100);
    p.a.run(|| {
        netlink::add_ipv4("va", vip, 32).unwrap();
        netlink::add_ipv4("va", vip, 32).expect("adding it again is fine");
        assert!(netlink::interface_ipv4s("va").unwrap().contains(&(vip, 32)));
    });
    assert!(
        p.a.ipv4s("va").contains(&(vip, 32)),
        "ip addr shows the VIP"
    );
    // On `lo` too, where DR real servers keep the VIP.
    p.a.run(|| netlink::add_ipv4("lo", vip, 32).unwrap());
    assert!(p.a.ipv4s("lo").contains(&(vip, 32)));

    p.a.run(|| {
        netlink::del_ipv4("va", vip, 32).unwrap();
        netlink::del_ipv4("va", vip, 32).expect("deleting it again is fine");
        netlink::del_ipv4("lo", vip, 32).unwrap();
        assert!(!netlink::interface_ipv4s("va").unwrap().contains(&(vip, 32)));
    });
    assert_eq!(p.a.ipv4s("va"), vec![(A_ADDR, 24)]);
    assert!(!p.a.ipv4s("lo").contains(&(vip, 32)));

    let err =
        p.a.run(|| netlink::add_ipv4("nosuch0", vip, 32))
            .unwrap_err();
    assert!(matches!(err, NetlinkError::NoSuchInterface(_)), "{err:?}");
}

#[test]
fn only_usable_neighbour_states_count() {
    let p = pair();
    let (va, _) = p.a.link("va");
    let host = "198.19.250.50";
    let host_ip: Ipv4Addr = host.parse().unwrap();
    let mac = [0x02, 0, 0, 0, 0, 0x50];
    for (state, usable) in [
        ("permanent", true),
        ("reachable", true),
        ("stale", true),
        ("probe", true),
        ("failed", false),
        ("incomplete", false),
        ("noarp", false),
    ] {
        p.a.ip(&[
            "neigh",
            "replace",
            host,
            "lladdr",
            "02:00:00:00:00:50",
            "dev",
            "va",
            "nud",
            state,
        ]);
        let got = p.a.run(|| netlink::neighbour_mac(va, host_ip).unwrap());
        assert_eq!(got, usable.then_some(mac), "state {state}");
    }
    // A usable entry answers without any ARP traffic: nobody owns .50.
    p.a.ip(&[
        "neigh",
        "replace",
        host,
        "lladdr",
        "02:00:00:00:00:50",
        "dev",
        "va",
        "nud",
        "permanent",
    ]);
    let hop = p.a.run(|| netlink::resolve_next_hop_mac(host_ip)).unwrap();
    assert_eq!(hop.mac, mac);
}
