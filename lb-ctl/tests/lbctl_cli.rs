//! The real `lbctl` binary against a real pinned data plane, attached to a
//! veth in a namespace of its own: golden outputs in ipvsadm 1.31's exact
//! layout, ipvsadm's error messages and exit codes, save/restore round
//! trips, and every command's effect read back from the maps through the
//! library. Run as root.

mod common;
mod lbctl_support;

use aya::programs::{TestRun, TestRunOptions};
use common::{tcp_frame, udp_frame, Flags, ACK, CLIENT, CLIENT_MAC, FIN, LB_MAC, SYN, VIP};
use lb_ctl::services::{self, Protocol, ServiceAddr};
use lb_ctl::{conns, stats, Balancer, Forward, Scheduler};
use lbctl_support::*;
use std::net::Ipv4Addr;

const HEADER: &str = "IP Virtual Server version 1.2.1 (size=262144)";
const TITLE: [&str; 2] = [
    "Prot LocalAddress:Port Scheduler Flags",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
];

/// Lines joined as a command prints them.
fn text(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// `-L -n` output: the header, the title, then `rows`.
fn listing(rows: &[&str]) -> String {
    text(&[HEADER, TITLE[0], TITLE[1]]) + &text(rows)
}

fn vip(port: u16, proto: Protocol) -> ServiceAddr {
    ServiceAddr::new(Ipv4Addr::new(198, 18, 0, 100), port, proto)
}

/// A DR, a TUN+NAT persistent and a UDP NAT service, added out of order
/// so that the listing's sort shows.
fn configure(bed: &Bed) {
    for line in [
        "-A -t 198.18.0.100:6379 -s rr",
        "-a -t 198.18.0.100:6379 -r 198.18.0.22 -g -w 1",
        "-a -t 198.18.0.100:6379 -r 198.18.0.21 -g -w 3",
        "-A -u 198.18.0.100:53 -s sh",
        "-a -u 198.18.0.100:53 -r 198.18.2.6:5353 -m -w 0",
        "-A -t 198.18.0.100:2181 -p",
        "-a -t 198.18.0.100:2181 -r 198.18.1.3 -i -w 2",
        "-a -t 198.18.0.100:2181 -r 198.18.2.5:12181 -m",
    ] {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(bed.ok(&words), "", "{line}");
    }
}

const CONFIGURED_LIST: [&str; 11] = [
    HEADER,
    TITLE[0],
    TITLE[1],
    "TCP  198.18.0.100:2181 wlc persistent 300",
    "  -> 198.18.1.3:2181              Tunnel  2      0          0         ",
    "  -> 198.18.2.5:12181             Masq    1      0          0         ",
    "TCP  198.18.0.100:6379 rr",
    "  -> 198.18.0.21:6379             Route   3      0          0         ",
    "  -> 198.18.0.22:6379             Route   1      0          0         ",
    "UDP  198.18.0.100:53 sh",
    "  -> 198.18.2.6:5353              Masq    0      0          0         ",
];

const CONFIGURED_SAVE: [&str; 8] = [
    "-A -t 198.18.0.100:2181 -s wlc -p 300",
    "-a -t 198.18.0.100:2181 -r 198.18.1.3:2181 -i -w 2",
    "-a -t 198.18.0.100:2181 -r 198.18.2.5:12181 -m -w 1",
    "-A -t 198.18.0.100:6379 -s rr",
    "-a -t 198.18.0.100:6379 -r 198.18.0.21:6379 -g -w 3",
    "-a -t 198.18.0.100:6379 -r 198.18.0.22:6379 -g -w 1",
    "-A -u 198.18.0.100:53 -s sh",
    "-a -u 198.18.0.100:53 -r 198.18.2.6:5353 -m -w 0",
];

#[test]
fn list_and_save_goldens_and_the_maps_behind_them() {
    let bed = Bed::new();
    configure(&bed);
    for flags in [
        &["-L", "-n"][..],
        &["-ln"],
        &["-Ln"],
        &["--list", "--numeric"],
        &[],
    ] {
        assert_eq!(bed.ok(flags), text(&CONFIGURED_LIST), "{flags:?}");
    }
    assert_eq!(bed.ok(&["-S", "-n"]), text(&CONFIGURED_SAVE));
    assert_eq!(bed.ok(&["-S"]), text(&CONFIGURED_SAVE));
    assert_eq!(
        bed.ok(&["-L", "-n", "-t", "198.18.0.100:6379"]),
        text(&[
            TITLE[0],
            TITLE[1],
            CONFIGURED_LIST[6],
            CONFIGURED_LIST[7],
            CONFIGURED_LIST[8]
        ])
    );
    assert_eq!(
        bed.ok(&["-L", "--timeout"]),
        "Timeout (tcp tcpfin udp): 900 120 300\n"
    );

    // What the commands wrote, read back through the library.
    let maps = bed.maps();
    let lan0 = bed.ifindex("lan0");
    let back0 = bed.ifindex("back0");
    let redis = services::get(&maps, &vip(6379, Protocol::Tcp)).unwrap();
    assert_eq!(redis.options.scheduler, Scheduler::Rr);
    assert_eq!(redis.options.persistence, 0);
    let got: Vec<_> = redis
        .reals
        .iter()
        .map(|r| {
            (
                r.addr.to_string(),
                r.port,
                r.weight,
                r.forward,
                r.egress.ifindex,
                r.egress.next_hop_mac,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "198.18.0.22".to_string(),
                6379,
                1,
                Forward::Dr,
                lan0,
                mac(DR_REALS[1].1)
            ),
            (
                "198.18.0.21".to_string(),
                6379,
                3,
                Forward::Dr,
                lan0,
                mac(DR_REALS[0].1)
            ),
        ]
    );
    let zk = services::get(&maps, &vip(2181, Protocol::Tcp)).unwrap();
    assert_eq!(
        (zk.options.scheduler, zk.options.persistence),
        (Scheduler::Wlc, 300)
    );
    let tun = &zk.reals[0];
    assert_eq!(
        (tun.forward, tun.port, tun.egress.ifindex),
        (Forward::Tun, 2181, lan0)
    );
    assert_eq!(
        tun.egress.next_hop_mac,
        mac(ROUTER.1),
        "TUN goes through the router"
    );
    let nat = &zk.reals[1];
    assert_eq!(
        (nat.forward, nat.port, nat.egress.ifindex),
        (Forward::Nat, 12181, back0)
    );
    assert_eq!(nat.egress.next_hop_mac, mac(NAT_REALS[0].1));
    let dns = services::get(&maps, &vip(53, Protocol::Udp)).unwrap();
    assert_eq!(dns.options.scheduler, Scheduler::Sh);
    assert_eq!((dns.reals[0].weight, dns.reals[0].port), (0, 5353));
    assert_eq!(services::list(&maps).unwrap().len(), 3);
}

#[test]
fn edit_delete_set_zero_and_clear_change_the_maps() {
    let bed = Bed::new();
    configure(&bed);
    let redis = vip(6379, Protocol::Tcp);
    let zk = vip(2181, Protocol::Tcp);

    bed.ok(&["-E", "-t", "198.18.0.100:6379", "-s", "wrr", "-p", "60"]);
    let s = services::get(&bed.maps(), &redis).unwrap();
    assert_eq!(
        (s.options.scheduler, s.options.persistence),
        (Scheduler::Wrr, 60)
    );
    // As ipvsadm: -E sets the whole service, so no -s is wlc and no -p
    // ends persistence.
    bed.ok(&["--edit-service", "--tcp-service", "198.18.0.100:6379"]);
    let s = services::get(&bed.maps(), &redis).unwrap();
    assert_eq!(
        (s.options.scheduler, s.options.persistence),
        (Scheduler::Wlc, 0)
    );

    bed.ok(&[
        "-e",
        "-t",
        "198.18.0.100:6379",
        "-r",
        "198.18.0.21",
        "-w",
        "0",
    ]);
    bed.ok(&[
        "-e",
        "-t",
        "198.18.0.100:2181",
        "-r",
        "198.18.2.5:12181",
        "-m",
        "-w",
        "7",
    ]);
    let s = services::get(&bed.maps(), &redis).unwrap();
    let r21 = s
        .reals
        .iter()
        .find(|r| r.addr == Ipv4Addr::new(198, 18, 0, 21))
        .unwrap();
    assert_eq!((r21.weight, r21.forward), (0, Forward::Dr));
    let z = services::get(&bed.maps(), &zk).unwrap();
    assert_eq!((z.reals[1].weight, z.reals[1].forward), (7, Forward::Nat));

    bed.ok(&["-d", "-t", "198.18.0.100:6379", "-r", "198.18.0.22"]);
    let s = services::get(&bed.maps(), &redis).unwrap();
    assert_eq!(s.reals.len(), 1);
    assert_eq!(s.reals[0].addr, Ipv4Addr::new(198, 18, 0, 21));
    // A NAT server's port is part of its name.
    bed.ok(&["-d", "-t", "198.18.0.100:2181", "-r", "198.18.2.5:12181"]);
    assert_eq!(services::get(&bed.maps(), &zk).unwrap().reals.len(), 1);

    bed.ok(&["-D", "-u", "198.18.0.100:53"]);
    assert!(services::get(&bed.maps(), &vip(53, Protocol::Udp)).is_err());
    assert_eq!(
        bed.ok(&["-L", "-n"]),
        listing(&[
            "TCP  198.18.0.100:2181 wlc persistent 300",
            "  -> 198.18.1.3:2181              Tunnel  2      0          0         ",
            "TCP  198.18.0.100:6379 wlc",
            "  -> 198.18.0.21:6379             Route   0      0          0         ",
        ])
    );

    bed.ok(&["--set", "1000", "0", "60"]);
    assert_eq!(conns::timeouts(&bed.maps()).unwrap(), (1000, 120, 60));
    assert_eq!(
        bed.ok(&["-L", "--timeout"]),
        "Timeout (tcp tcpfin udp): 1000 120 60\n"
    );

    bed.ok(&["-C"]);
    assert!(services::list(&bed.maps()).unwrap().is_empty());
    assert_eq!(bed.ok(&["-ln"]), listing(&[]));
    assert_eq!(bed.ok(&["-S"]), "");
}

#[test]
fn save_output_restores_the_same_table() {
    let bed = Bed::new();
    configure(&bed);
    let saved = bed.ok(&["-S", "-n"]);
    let before = services::list(&bed.maps()).unwrap();
    bed.ok(&["-C"]);
    assert!(services::list(&bed.maps()).unwrap().is_empty());

    let out = bed.lbctl_with_input(&["-R"], Some(&saved));
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(bed.ok(&["-S", "-n"]), saved);
    assert_eq!(bed.ok(&["-L", "-n"]), text(&CONFIGURED_LIST));
    let after = services::list(&bed.maps()).unwrap();
    let shape = |list: &[services::Service]| -> Vec<_> {
        list.iter()
            .map(|s| {
                let mut reals: Vec<_> = s
                    .reals
                    .iter()
                    .map(|r| (r.addr, r.port, r.weight, r.forward, r.egress))
                    .collect();
                reals.sort_by_key(|r| (r.0, r.1));
                (s.addr, s.options, reals)
            })
            .collect()
    };
    assert_eq!(shape(&after), shape(&before));

    // Restoring onto a full table reports each refused line and goes on.
    let out = bed.lbctl_with_input(
        &["--restore"],
        Some("# comment\n\nipvsadm -A -t 198.18.0.100:6379 -s rr\n-A -t 198.18.0.100:7000 -s lc\n"),
    );
    assert_eq!(out.code, 255);
    assert_eq!(out.stderr, "Service already exists\n");
    assert!(services::get(&bed.maps(), &vip(7000, Protocol::Tcp)).is_ok());

    // A line that does not parse stops the restore, as in ipvsadm.
    let out = bed.lbctl_with_input(
        &["-R"],
        Some("-A -t 198.18.0.100:7001 -w 3\n-A -t 198.18.0.100:7002\n"),
    );
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "Illegal 'weight' option with the 'add-service' command\n"
    );
    assert!(services::get(&bed.maps(), &vip(7002, Protocol::Tcp)).is_err());
}

#[test]
fn operation_errors_read_like_ipvsadm() {
    let bed = Bed::new();
    configure(&bed);
    let before = services::list(&bed.maps()).unwrap();
    let cases: &[(&str, i32, &str)] = &[
        (
            "-A -t 198.18.0.100:6379 -s rr",
            255,
            "Service already exists",
        ),
        ("-E -t 198.18.0.100:9999 -s rr", 255, "No such service"),
        ("-D -t 198.18.0.100:9999", 255, "No such service"),
        ("-Z -t 198.18.0.100:9999", 255, "No such service"),
        (
            "-a -t 198.18.0.100:9999 -r 198.18.0.21",
            255,
            "Service not defined",
        ),
        (
            "-e -t 198.18.0.100:9999 -r 198.18.0.21",
            255,
            "Service not defined",
        ),
        (
            "-d -t 198.18.0.100:9999 -r 198.18.0.21",
            255,
            "Service not defined",
        ),
        (
            "-a -t 198.18.0.100:6379 -r 198.18.0.21",
            255,
            "Destination already exists",
        ),
        (
            "-e -t 198.18.0.100:6379 -r 198.18.0.23",
            255,
            "No such destination",
        ),
        (
            "-d -t 198.18.0.100:6379 -r 198.18.0.23",
            255,
            "No such destination",
        ),
        // -m keeps the given port: 198.18.2.5:2181 is not 198.18.2.5:12181.
        (
            "-d -t 198.18.0.100:2181 -r 198.18.2.5",
            255,
            "No such destination",
        ),
        (
            "-A -t 198.18.0.100:80 -s lblc",
            255,
            "Scheduler or persistence engine not found",
        ),
        (
            "-E -t 198.18.0.100:6379 -s bogus",
            255,
            "Scheduler or persistence engine not found",
        ),
        ("-L -n -t 198.18.0.100:9999", 1, "No such service"),
        (
            "-A -t 198.18.0.100:80 -s rr -w 1",
            2,
            "Illegal 'weight' option with the 'add-service' command",
        ),
        (
            "-a -t 198.18.0.100:6379 -r 198.18.0.300",
            2,
            "illegal real server address[:port] specified",
        ),
        (
            "-A -t 198.18.0.100:http2 -s rr",
            2,
            "illegal virtual server address[:port] specified",
        ),
        (
            "-a -t 198.18.0.100:6379 -r 198.18.0.21 -w -1",
            2,
            "illegal weight specified",
        ),
        (
            "-L -n --rate -c",
            2,
            "options conflicts in the list command",
        ),
    ];
    for (line, code, message) in cases {
        let words: Vec<&str> = line.split_whitespace().collect();
        let out = bed.lbctl(&words);
        assert_eq!(
            (out.code, out.stderr.as_str(), out.stdout.as_str()),
            (*code, format!("{message}\n").as_str(), ""),
            "{line}"
        );
    }

    // No route towards the server: refused, and nothing half-written.
    let out = bed.lbctl(&["-a", "-t", "198.18.0.100:6379", "-r", "203.0.113.9"]);
    assert_eq!(out.code, 255, "{out:?}");
    assert!(
        out.stderr
            .starts_with("cannot resolve the next hop towards 203.0.113.9"),
        "{out:?}"
    );
    let out = bed.lbctl(&["attach", "lan0", "--mode", "skb"]);
    assert_eq!(out.code, 255);
    assert_eq!(
        out.stderr,
        "lan0: already attached (lbctl detach lan0 first)\n"
    );
    let out = bed.lbctl(&["attach", "nosuch0", "--mode", "skb"]);
    assert_eq!(out.code, 255);
    assert!(out.stderr.starts_with("nosuch0: "), "{out:?}");
    let out = bed.lbctl(&["detach", "back0"]);
    assert_eq!(out.code, 255);
    assert!(
        out.stderr.starts_with("back0: no XDP attachment of ours"),
        "{out:?}"
    );
    assert_eq!(services::list(&bed.maps()).unwrap(), before);

    // `ip netns exec` remounts /sys: an attach there would pin into a
    // throwaway bpffs, so it is refused, and the listing says why.
    let hint = "no bpffs is mounted on /sys/fs/bpf here; under `ip netns exec` (which \
                remounts /sys) run lbctl with `nsenter --net=/run/netns/NAME` instead\n";
    let out = bed.lbctl_ip_netns_exec(&["attach", "lan1", "--mode", "skb"]);
    assert_eq!((out.code, out.stderr.as_str()), (2, hint));
    let out = bed.lbctl_ip_netns_exec(&["-ln"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.ends_with(hint), "{out:?}");
    assert!(!bed.link_details("lan1").contains("xdp"));
}

#[test]
fn detach_and_attach_keep_the_table() {
    let bed = Bed::new();
    configure(&bed);
    assert!(
        bed.link_details("lan0").contains("xdpgeneric"),
        "attached in skb mode"
    );
    bed.ok(&["detach", "lan0"]);
    assert!(lb_ctl::loader::attached_interfaces(&bed.pin_dir).is_empty());
    assert!(!bed.link_details("lan0").contains("xdp"), "detached");
    assert_eq!(bed.ok(&["-ln"]), text(&CONFIGURED_LIST));
    bed.ok(&[
        "attach",
        "lan0",
        "--mode=skb",
        "--tunnel-src",
        "198.18.0.99",
    ]);
    assert_eq!(lb_ctl::loader::attached_interfaces(&bed.pin_dir), ["lan0"]);
    let cfg = bed.maps().lb_config().unwrap();
    assert_eq!(
        cfg.tunnel_src,
        lb_common::ip_to_net(Ipv4Addr::new(198, 18, 0, 99))
    );
    bed.ok(&["detach", "lan0"]);
    // Without --tunnel-src the interface's own address is the source;
    // without --mode the attachment is native (veth has a driver hook).
    bed.ok(&["attach", "lan0"]);
    let cfg = bed.maps().lb_config().unwrap();
    assert_eq!(
        cfg.tunnel_src,
        lb_common::ip_to_net(LB_ADDR.parse().unwrap())
    );
    let link = bed.link_details("lan0");
    assert!(
        link.contains("prog/xdp") && !link.contains("xdpgeneric"),
        "{link}"
    );
    assert_eq!(bed.ok(&["-ln"]), text(&CONFIGURED_LIST));
}

#[test]
fn errors_without_a_data_plane() {
    let absent = format!("lbctl-absent-{}", std::process::id());
    for args in [&["-L", "-n"][..], &["-A", "-t", "1.2.3.4:80"], &[]] {
        let out = lbctl_plain(&absent, args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        // On a host without bpffs mounted yet, a hint line follows.
        let expected = format!(
            "the data plane is not loaded: no pinned maps in /sys/fs/bpf/{absent} \
             (attach an interface first, e.g. `lbctl attach eth0`)\n"
        );
        assert!(out.stderr.starts_with(&expected), "{args:?}: {out:?}");
    }
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["-A", "-t", "1.2.3.4"],
            2,
            "Zero port specified for non-persistent service\n",
        ),
        (&["-L", "-A"], 2, "multiple commands specified\n"),
        (
            &["-a", "-t", "1.2.3.4:80"],
            2,
            "You need to supply the 'real-server' option for the 'add-server' command\n",
        ),
        (
            &["--set", "1", "2"],
            2,
            "--set option requires 3 timeout values\n",
        ),
        (
            &["-n"],
            255,
            "Try `lbctl -h' or 'lbctl --help' for more information.\n",
        ),
        (&["-L", "--bogus"], 255, "--bogus: unknown option\n"),
        (
            &["attach"],
            2,
            "usage: lbctl attach IFACE [--mode native|skb] [--tunnel-src ADDR]\n",
        ),
        (
            &["attach", "lo", "--mode", "turbo"],
            2,
            "unknown XDP mode `turbo` (native or skb)\n",
        ),
        (
            &["--instance", "a/b", "-L"],
            2,
            "illegal instance name `a/b'\n",
        ),
    ];
    for (args, code, stderr) in cases {
        let out = lbctl_plain(&absent, args);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (*code, *stderr),
            "{args:?}"
        );
    }
    let out = lbctl_plain(&absent, &["-h"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("lbctl v"), "{out:?}");
    assert!(out.stdout.contains("--add-service     -A"));
}

/// Runs the balancer program once on `frame` through the instance's
/// pinned maps, as if the frame had arrived.
fn inject(balancer: &mut Balancer, frame: &[u8]) {
    let mut out = vec![0u8; frame.len() + 256];
    let prog = balancer.program().unwrap();
    prog.test_run(TestRunOptions {
        data_in: Some(frame),
        data_out: Some(&mut out),
        ..TestRunOptions::default()
    })
    .expect("BPF_PROG_TEST_RUN");
}

fn client(sport: u16, flags: Flags, payload: &[u8]) -> Vec<u8> {
    tcp_frame(
        (CLIENT_MAC, LB_MAC),
        (CLIENT, sport),
        (VIP, 6379),
        flags,
        payload,
    )
}

/// Replaces the mm:ss timer of each `-c` line with MM:SS after checking
/// that it counts down from the state's timeout.
fn mask_timers(table: &str, timeouts: &[(&str, u64)]) -> String {
    let mut out = String::new();
    for line in table.lines() {
        let timer = line.get(4..9).unwrap_or_default();
        let parsed = timer
            .split_once(':')
            .filter(|(m, s)| m.len() == 2 && s.len() == 2)
            .and_then(|(m, s)| Some(m.parse::<u64>().ok()? * 60 + s.parse::<u64>().ok()?));
        match parsed {
            Some(secs) => {
                let state = line[11..].split_whitespace().next().unwrap();
                let (_, timeout) = timeouts
                    .iter()
                    .find(|(s, _)| *s == state)
                    .unwrap_or_else(|| panic!("unexpected state in {line}"));
                assert!(secs <= *timeout && secs + 10 >= *timeout, "{line}");
                out += &format!("{}MM:SS{}\n", &line[..4], &line[9..]);
            }
            None => out += &format!("{line}\n"),
        }
    }
    out
}

#[test]
fn traffic_shows_in_stats_rates_and_the_connection_table() {
    let bed = Bed::new();
    for line in [
        "-A -t 198.18.0.100:6379 -s rr",
        "-a -t 198.18.0.100:6379 -r 198.18.0.22",
        "-a -t 198.18.0.100:6379 -r 198.18.0.21",
        "-A -u 198.18.0.100:6379 -s rr",
        "-a -u 198.18.0.100:6379 -r 198.18.2.6:5353 -m",
    ] {
        bed.ok(&line.split_whitespace().collect::<Vec<_>>());
    }
    // The program runs on the instance's own pinned maps.
    let mut balancer = Balancer::load(Some(&bed.pin_dir)).expect("load on the pins");
    let ping = b"PING\r\n";
    for frame in [
        client(40000, SYN, b""),
        client(40001, SYN, b""),
        client(40000, ACK, ping),
        client(40002, SYN, b""),
        client(40002, ACK, b""),
        client(40002, FIN, b""),
        udp_frame((CLIENT_MAC, LB_MAC), (CLIENT, 5000), (VIP, 6379), b"query"),
    ] {
        inject(&mut balancer, &frame);
    }
    // rr: 40000 → first server, 40001 → second, 40002 → first again.
    let first = services::get(&bed.maps(), &vip(6379, Protocol::Tcp))
        .unwrap()
        .reals[0]
        .addr;
    assert_eq!(
        first,
        Ipv4Addr::new(198, 18, 0, 22),
        "ring order follows -a order"
    );

    assert_eq!(
        bed.ok(&["-L", "-n"]),
        listing(&[
            "TCP  198.18.0.100:6379 rr",
            "  -> 198.18.0.21:6379             Route   1      0          1         ",
            "  -> 198.18.0.22:6379             Route   1      1          1         ",
            "UDP  198.18.0.100:6379 rr",
            "  -> 198.18.2.6:5353              Masq    1      0          1         ",
        ])
    );
    // IP lengths: SYN, ACK and FIN 40 bytes, the ACK with PING 46, the
    // UDP datagram 33.
    let stats_golden = text(&[
        HEADER,
        "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes",
        "  -> RemoteAddress:Port",
        "TCP  198.18.0.100:6379                   3        6        0      246        0",
        "  -> 198.18.0.21:6379                    1        1        0       40        0",
        "  -> 198.18.0.22:6379                    2        5        0      206        0",
        "UDP  198.18.0.100:6379                   1        1        0       33        0",
        "  -> 198.18.2.6:5353                     1        1        0       33        0",
    ]);
    assert_eq!(bed.ok(&["-L", "-n", "--stats"]), stats_golden);
    assert_eq!(bed.ok(&["-L", "-n", "--stats", "--exact"]), stats_golden);
    let svc = services::get(&bed.maps(), &vip(6379, Protocol::Tcp)).unwrap();
    assert_eq!(stats::service(&bed.maps(), svc.id).unwrap().bytes_in, 246);

    let table = bed.ok(&["-L", "-n", "-c"]);
    assert_eq!(bed.ok(&["-lnc"]).lines().count(), table.lines().count());
    assert_eq!(
        mask_timers(
            &table,
            &[
                ("SYN_RECV", 60),
                ("FIN_WAIT", 120),
                ("UDP", 300),
                ("ESTABLISHED", 900)
            ]
        ),
        text(&[
            "IPVS connection entries",
            "pro expire state       source             virtual            destination",
            "TCP MM:SS  SYN_RECV    198.18.0.2:40001   198.18.0.100:6379  198.18.0.21:6379",
            "TCP MM:SS  FIN_WAIT    198.18.0.2:40002   198.18.0.100:6379  198.18.0.22:6379",
            "UDP MM:SS  UDP         198.18.0.2:5000    198.18.0.100:6379  198.18.2.6:5353",
            "TCP MM:SS  ESTABLISHED 198.18.0.2:40000   198.18.0.100:6379  198.18.0.22:6379",
        ])
    );

    // No traffic during the rate window: every rate is zero.
    let rate = bed.ok(&["-L", "-n", "--rate"]);
    assert_eq!(
        rate,
        text(&[
            HEADER,
            "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS",
            "  -> RemoteAddress:Port",
            "TCP  198.18.0.100:6379                   0        0        0        0        0",
            "  -> 198.18.0.21:6379                    0        0        0        0        0",
            "  -> 198.18.0.22:6379                    0        0        0        0        0",
            "UDP  198.18.0.100:6379                   0        0        0        0        0",
            "  -> 198.18.2.6:5353                     0        0        0        0        0",
        ])
    );

    // -Z of one service zeroes it and its servers only.
    bed.ok(&["-Z", "-t", "198.18.0.100:6379"]);
    let zeroed = bed.ok(&["-L", "-n", "--stats"]);
    let lines: Vec<&str> = zeroed.lines().collect();
    assert_eq!(
        lines[3],
        "TCP  198.18.0.100:6379                   0        0        0        0        0"
    );
    assert_eq!(
        lines[6],
        "UDP  198.18.0.100:6379                   1        1        0       33        0"
    );
    bed.ok(&["-Z"]);
    let svc = services::get(&bed.maps(), &vip(6379, Protocol::Udp)).unwrap();
    assert_eq!(
        stats::service(&bed.maps(), svc.id).unwrap(),
        Default::default()
    );
    assert_eq!(
        stats::real(&bed.maps(), svc.reals[0].id).unwrap(),
        Default::default()
    );
}

#[test]
fn frames_on_the_wire_reach_the_table_lbctl_lists() {
    let bed = Bed::new();
    bed.ok(&["-A", "-t", "198.18.0.100:6379", "-s", "rr"]);
    bed.ok(&["-a", "-t", "198.18.0.100:6379", "-r", "198.18.0.21", "-g"]);
    // From the veth peer to the attached leg, as from a client on the LAN.
    let lan0 = bed.mac_of("lan0");
    let lan1 = bed.mac_of("lan1");
    let frame = |sport, flags, payload: &[u8]| {
        tcp_frame((lan1, lan0), (CLIENT, sport), (VIP, 6379), flags, payload)
    };
    send_frames(
        &bed.ns,
        "lan1",
        vec![
            frame(41000, SYN, b""),
            frame(41000, ACK, b"PING\r\n"),
            frame(41001, SYN, b""),
        ],
    );
    // Generic XDP runs in the receive path; give it a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut table = String::new();
    while std::time::Instant::now() < deadline {
        table = bed.ok(&["-lnc"]);
        if table.lines().count() == 4 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        mask_timers(&table, &[("SYN_RECV", 60), ("ESTABLISHED", 900)]),
        text(&[
            "IPVS connection entries",
            "pro expire state       source             virtual            destination",
            "TCP MM:SS  SYN_RECV    198.18.0.2:41001   198.18.0.100:6379  198.18.0.21:6379",
            "TCP MM:SS  ESTABLISHED 198.18.0.2:41000   198.18.0.100:6379  198.18.0.21:6379",
        ])
    );
    assert_eq!(
        bed.ok(&["-L", "-n", "--stats"]),
        text(&[
            HEADER,
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes",
            "  -> RemoteAddress:Port",
            "TCP  198.18.0.100:6379                   2        3        0      126        0",
            "  -> 198.18.0.21:6379                    2        3        0      126        0",
        ])
    );
    assert_eq!(
        bed.ok(&["-L", "-n"]),
        listing(&[
            "TCP  198.18.0.100:6379 rr",
            "  -> 198.18.0.21:6379             Route   1      1          1         ",
        ])
    );
}

#[test]
fn rate_measures_traffic_during_its_window() {
    let bed = Bed::new();
    bed.ok(&["-A", "-t", "198.18.0.100:6379", "-s", "rr"]);
    bed.ok(&["-a", "-t", "198.18.0.100:6379", "-r", "198.18.0.21"]);
    let mut balancer = Balancer::load(Some(&bed.pin_dir)).expect("load on the pins");
    // One new connection every 50 ms (20/s) for as long as lbctl runs.
    let out = std::thread::scope(|scope| {
        let lister = scope.spawn(|| bed.ok(&["-L", "-n", "--rate"]));
        let started = std::time::Instant::now();
        let mut port = 20_000;
        while !lister.is_finished() && started.elapsed() < std::time::Duration::from_secs(10) {
            inject(&mut balancer, &client(port, SYN, b""));
            port += 1;
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        lister.join().expect("lbctl --rate")
    });
    let line = out
        .lines()
        .find(|l| l.starts_with("TCP  198.18.0.100:6379"))
        .unwrap_or_else(|| panic!("{out}"));
    let rates: Vec<u64> = line[33..]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let (cps, inpps, outpps, inbps, outbps) = (rates[0], rates[1], rates[2], rates[3], rates[4]);
    assert!((8..=24).contains(&cps), "{line}");
    assert_eq!(inpps, cps, "one SYN per connection: {line}");
    // 40-byte SYNs; each rate is rounded on its own.
    assert!(inbps.abs_diff(cps * 40) <= 40, "{line}");
    assert_eq!((outpps, outbps), (0, 0), "{line}");
    let real_line = out.lines().last().unwrap();
    assert!(real_line.starts_with("  -> 198.18.0.21:6379 "), "{out}");
}
