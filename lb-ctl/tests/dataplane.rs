//! Packet tests: real frames through the loaded `balancer` program with
//! BPF_PROG_TEST_RUN, asserting the verdict and the exact bytes that come
//! out. Expected frames are built independently with etherparse, so a
//! byte-for-byte match also proves the incremental checksums.

mod common;

use common::*;
use lb_ctl::services::{self, Protocol};
use lb_ctl::{conns, stats, ConnState, Forward, Scheduler};
use std::collections::HashMap;
use std::net::Ipv4Addr;

fn dr_service(h: &mut Harness, sched: Scheduler, weights: &[u32]) -> lb_ctl::ServiceAddr {
    let svc = h.add_service(Protocol::Tcp, sched, 0);
    for (i, &w) in weights.iter().enumerate() {
        h.add_real(&svc, i as u8 + 1, Forward::Dr, w);
    }
    svc
}

/// Opens `n` connections (one SYN each, from distinct ports) and returns
/// how many each real server got.
fn spread(h: &mut Harness, n: u16) -> HashMap<u8, u32> {
    let mut counts = HashMap::new();
    for port in 0..n {
        let (verdict, out) = h.run(&client_tcp(10_000 + port, SYN, b""));
        assert_eq!(verdict, XDP_TX);
        *counts.entry(Harness::real_of_frame(&out)).or_insert(0) += 1;
    }
    counts
}

#[test]
fn dr_rewrites_only_the_macs_and_transmits() {
    let mut h = Harness::new();
    dr_service(&mut h, Scheduler::Rr, &[1]);
    let input = client_tcp(40000, SYN, b"");
    let (verdict, out) = h.run(&input);
    assert_eq!(verdict, XDP_TX);
    let mut expected = input.clone();
    expected[0..6].copy_from_slice(&real_mac(1));
    expected[6..12].copy_from_slice(&LB_MAC);
    assert_eq!(out, expected);
}

#[test]
fn tun_pushes_a_valid_outer_header_and_keeps_the_inner_packet() {
    let mut h = Harness::new();
    let svc = h.add_service(Protocol::Tcp, Scheduler::Rr, 0);
    h.add_real(&svc, 1, Forward::Tun, 1);
    let input = client_tcp(40001, SYN, b"hello");
    let (verdict, out) = h.run(&input);
    assert_eq!(verdict, XDP_TX);
    assert_eq!(out.len(), input.len() + 20);
    assert_eq!(&out[0..6], &real_mac(1));
    assert_eq!(&out[6..12], &LB_MAC);
    assert_eq!(&out[12..14], &[0x08, 0x00]);
    let outer = &out[14..34];
    assert_eq!(outer[0], 0x45);
    assert_eq!(outer[1], input[15], "outer TOS copies the inner one");
    assert_eq!(
        u16::from_be_bytes([outer[2], outer[3]]) as usize,
        input.len() - 14 + 20
    );
    assert_eq!(outer[8], 64, "TTL");
    assert_eq!(outer[9], 4, "protocol IP-in-IP");
    assert_eq!(&outer[12..16], &LB_IP.octets());
    assert_eq!(&outer[16..20], &real_ip(1, Forward::Tun).octets());
    assert_eq!(ones_sum(outer, 0), 0xffff, "outer header checksum");
    assert_eq!(&out[34..], &input[14..], "inner packet untouched");
}

#[test]
fn nat_rewrites_the_destination_both_ways_with_valid_checksums() {
    let mut h = Harness::new();
    let svc = h.add_service(Protocol::Tcp, Scheduler::Rr, 0);
    h.add_real_port(&svc, 1, Forward::Nat, 1, 16379);
    let rip = real_ip(1, Forward::Nat);

    let input = client_tcp(40002, SYN, b"PING\r\n");
    let (verdict, out) = h.run(&input);
    assert_eq!(
        verdict, XDP_TX,
        "egress ifindex = ingress (lo) means XDP_TX"
    );
    let expected = tcp_frame(
        (LB_MAC, real_mac(1)),
        (CLIENT, 40002),
        (rip, 16379),
        SYN,
        b"PING\r\n",
    );
    assert_eq!(out, expected);
    assert_checksums_valid(&out, 14);

    // The reply RIP:16379 → CLIENT:40002 goes back as VIP:6379, to the MAC
    // the client's frame came from.
    let reply = tcp_frame(
        (real_mac(1), LB_MAC),
        (rip, 16379),
        (CLIENT, 40002),
        ACK,
        b"+PONG\r\n",
    );
    let (verdict, out) = h.run(&reply);
    assert_eq!(verdict, XDP_TX);
    let expected = tcp_frame(
        (LB_MAC, CLIENT_MAC),
        (VIP, VPORT),
        (CLIENT, 40002),
        ACK,
        b"+PONG\r\n",
    );
    assert_eq!(out, expected);
    assert_checksums_valid(&out, 14);

    let svc_stats = stats::service(
        &h.balancer.maps,
        services::get(&h.balancer.maps, &svc).unwrap().id,
    )
    .unwrap();
    assert_eq!(
        (svc_stats.conns, svc_stats.packets_in, svc_stats.packets_out),
        (1, 1, 1)
    );
    assert_eq!(svc_stats.bytes_in, (input.len() - 14) as u64);
    assert_eq!(svc_stats.bytes_out, (reply.len() - 14) as u64);
}

#[test]
fn nat_udp_keeps_a_zero_checksum_and_fixes_a_real_one() {
    let mut h = Harness::new();
    let svc = h.add_service(Protocol::Udp, Scheduler::Rr, 0);
    h.add_real_port(&svc, 1, Forward::Nat, 1, 5353);
    let rip = real_ip(1, Forward::Nat);

    let input = udp_frame((CLIENT_MAC, LB_MAC), (CLIENT, 5000), (VIP, VPORT), b"query");
    let (verdict, out) = h.run(&input);
    assert_eq!(verdict, XDP_TX);
    assert_eq!(
        out,
        udp_frame((LB_MAC, real_mac(1)), (CLIENT, 5000), (rip, 5353), b"query")
    );
    assert_checksums_valid(&out, 14);

    let mut no_csum = udp_frame((CLIENT_MAC, LB_MAC), (CLIENT, 5001), (VIP, VPORT), b"query");
    no_csum[40] = 0;
    no_csum[41] = 0;
    let (verdict, out) = h.run(&no_csum);
    assert_eq!(verdict, XDP_TX);
    assert_eq!(&out[40..42], &[0, 0], "a zero UDP checksum stays zero");
    assert_eq!(&out[30..34], &rip.octets());
    assert_checksums_valid(&out, 14);
}

#[test]
fn nat_to_an_unknown_egress_falls_back_to_the_stack() {
    let mut h = Harness::new();
    let svc = h.add_service(Protocol::Tcp, Scheduler::Rr, 0);
    let mut spec = real_spec(1, Forward::Nat, 1, VPORT);
    spec.egress.as_mut().unwrap().ifindex = 9999;
    services::add_real(&mut h.balancer.maps, &svc, &spec).unwrap();
    let (verdict, out) = h.run(&client_tcp(40003, SYN, b""));
    assert_eq!(
        verdict, XDP_PASS,
        "not in the devmap: the kernel forwards it"
    );
    assert_eq!(
        &out[30..34],
        &real_ip(1, Forward::Nat).octets(),
        "already rewritten"
    );
    assert_checksums_valid(&out, 14);
}

#[test]
fn packets_that_are_not_ours_pass_untouched() {
    let mut h = Harness::new();
    dr_service(&mut h, Scheduler::Rr, &[1]);
    let service_frame = client_tcp(40004, SYN, b"data");
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut arp = service_frame.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    cases.push(("not IPv4", arp));
    cases.push((
        "another destination",
        tcp_frame(
            (CLIENT_MAC, LB_MAC),
            (CLIENT, 1),
            (Ipv4Addr::new(198, 18, 0, 99), VPORT),
            SYN,
            b"",
        ),
    ));
    cases.push((
        "the VIP on another port",
        tcp_frame((CLIENT_MAC, LB_MAC), (CLIENT, 1), (VIP, 80), SYN, b""),
    ));
    cases.push((
        "UDP to a TCP service",
        udp_frame((CLIENT_MAC, LB_MAC), (CLIENT, 1), (VIP, VPORT), b"x"),
    ));
    let mut frag = service_frame.clone();
    frag[20] |= 0x20; // more fragments
    cases.push(("first fragment", frag));
    let mut later_frag = service_frame.clone();
    later_frag[21] = 0x10; // offset 16 × 8
    cases.push(("later fragment", later_frag));
    let mut options = service_frame.clone();
    options[14] = 0x46;
    cases.push(("IP options", options));
    let mut gre = service_frame.clone();
    gre[23] = 47;
    cases.push(("another protocol", gre));
    for cut in [0, 10, 13, 20, 33, 34, 40, 53] {
        cases.push((
            "truncated",
            service_frame[..cut.min(service_frame.len())].to_vec(),
        ));
    }
    for (what, frame) in cases {
        if frame.len() < 14 {
            continue; // the kernel rejects test frames shorter than Ethernet
        }
        let (verdict, out) = h.run(&frame);
        assert_eq!(verdict, XDP_PASS, "{what}");
        assert_eq!(out, frame, "{what} must not change");
    }
}

#[test]
fn rr_takes_the_servers_in_turn() {
    let mut h = Harness::new();
    dr_service(&mut h, Scheduler::Rr, &[1, 1, 1]);
    let order: Vec<u8> = (0..6)
        .map(|i| Harness::real_of_frame(&h.run(&client_tcp(20_000 + i, SYN, b"")).1))
        .collect();
    assert_eq!(order, vec![1, 2, 3, 1, 2, 3]);
}

#[test]
fn wrr_follows_the_weights_in_ipvs_order() {
    let mut h = Harness::new();
    dr_service(&mut h, Scheduler::Wrr, &[4, 3, 2]);
    let order: Vec<u8> = (0..9)
        .map(|i| Harness::real_of_frame(&h.run(&client_tcp(20_000 + i, SYN, b"")).1))
        .collect();
    assert_eq!(order, vec![1, 1, 2, 1, 2, 3, 1, 2, 3]);
    let counts = spread(&mut h, 900);
    assert_eq!((counts[&1], counts[&2], counts[&3]), (400, 300, 200));
}

#[test]
fn lc_and_wlc_pick_the_least_loaded() {
    for (sched, weights, expected) in [
        // lc ignores weights: equal shares.
        (Scheduler::Lc, [1u32, 3], (30u32, 30u32)),
        // wlc: connections per weight even out, 1:3.
        (Scheduler::Wlc, [1, 3], (15, 45)),
    ] {
        let mut h = Harness::new();
        dr_service(&mut h, sched, &weights);
        let counts = spread(&mut h, 60);
        assert_eq!((counts[&1], counts[&2]), expected, "{sched:?}");
    }
}

#[test]
fn lc_counts_an_active_connection_as_256_inactive_ones() {
    let mut h = Harness::new();
    dr_service(&mut h, Scheduler::Lc, &[1, 1]);
    // First connection goes to server 1 and becomes established (active).
    let (_, out) = h.run(&client_tcp(30_000, SYN, b""));
    assert_eq!(Harness::real_of_frame(&out), 1);
    h.run(&client_tcp(30_000, ACK, b""));
    // Server 2 now takes the next 256 half-open ones before server 1 ties.
    let counts = spread(&mut h, 256);
    assert_eq!(counts.get(&2), Some(&256));
    let (_, out) = h.run(&client_tcp(31_000, SYN, b""));
    assert_eq!(
        Harness::real_of_frame(&out),
        1,
        "tie at 256: the first server wins"
    );
}

#[test]
fn sh_and_dh_hash_the_addresses() {
    let mut h = Harness::new();
    dr_service(&mut h, Scheduler::Sh, &[1, 1, 1, 1]);
    let mut per_server: HashMap<u8, u32> = HashMap::new();
    for i in 0..400u32 {
        let client = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 1, 0, 0)) + i);
        let first = Harness::real_of_frame(&h.run(&client_tcp_from(client, 1000, SYN, b"")).1);
        let again = Harness::real_of_frame(&h.run(&client_tcp_from(client, 2000, SYN, b"")).1);
        assert_eq!(first, again, "sh: one client address, one server");
        *per_server.entry(first).or_insert(0) += 1;
    }
    for n in 1..=4 {
        let got = per_server.get(&n).copied().unwrap_or(0);
        assert!(
            (60..140).contains(&got),
            "sh spread: server {n} got {got} of 400"
        );
    }

    let mut h = Harness::new();
    dr_service(&mut h, Scheduler::Dh, &[1, 1, 1]);
    let counts = spread(&mut h, 50);
    assert_eq!(counts.len(), 1, "dh: one destination, one server");
}

#[test]
fn mh_matches_the_maglev_table_and_spreads_evenly() {
    let mut h = Harness::new();
    let svc = dr_service(&mut h, Scheduler::Mh, &[1, 1, 1]);
    let service = services::get(&h.balancer.maps, &svc).unwrap();
    let backends: Vec<lb_ctl::sched::Backend> = service
        .reals
        .iter()
        .map(|r| lb_ctl::sched::Backend::new(r.id, r.weight, format!("{}:{}", r.addr, r.port)))
        .collect();
    let ring = lb_ctl::sched::build_ring(Scheduler::Mh, &backends).unwrap();
    let mut counts: HashMap<u8, u32> = HashMap::new();
    for port in 0..3000u16 {
        let sport = 10_000 + port;
        let (_, out) = h.run(&client_tcp(sport, SYN, b""));
        let got = Harness::real_of_frame(&out);
        let slot =
            lb_common::flow_hash::hash_addr_port(lb_common::ip_to_net(CLIENT), sport.to_be())
                % lb_common::RING_SIZE;
        let expected_id = ring[slot as usize];
        let expected = service
            .reals
            .iter()
            .position(|r| r.id == expected_id)
            .unwrap() as u8
            + 1;
        assert_eq!(got, expected, "port {sport}");
        *counts.entry(got).or_insert(0) += 1;
    }
    for n in 1..=3 {
        assert!(
            (850..1150).contains(&counts[&n]),
            "server {n}: {}",
            counts[&n]
        );
    }
}

#[test]
fn established_flows_stick_when_servers_change() {
    for sched in [Scheduler::Rr, Scheduler::Wrr, Scheduler::Mh, Scheduler::Wlc] {
        let mut h = Harness::new();
        let svc = dr_service(&mut h, sched, &[1, 1]);
        let first: Vec<u8> = (0..20)
            .map(|i| Harness::real_of_frame(&h.run(&client_tcp(50_000 + i, SYN, b"")).1))
            .collect();
        h.add_real(&svc, 3, Forward::Dr, 5);
        for (i, &server) in first.iter().enumerate() {
            let (_, out) = h.run(&client_tcp(50_000 + i as u16, ACK, b"more"));
            assert_eq!(
                Harness::real_of_frame(&out),
                server,
                "{sched:?}: flow {i} moved"
            );
        }
    }
}

#[test]
fn persistence_keeps_a_client_on_one_server() {
    let mut h = Harness::new();
    let svc = h.add_service(Protocol::Tcp, Scheduler::Rr, 300);
    for n in 1..=3 {
        h.add_real(&svc, n, Forward::Dr, 1);
    }
    let servers: Vec<u8> = (0..10)
        .map(|i| Harness::real_of_frame(&h.run(&client_tcp(60_000 + i, SYN, b"")).1))
        .collect();
    assert!(servers.iter().all(|&s| s == servers[0]), "{servers:?}");
    let other = Ipv4Addr::new(198, 18, 0, 3);
    let (_, out) = h.run(&client_tcp_from(other, 60_000, SYN, b""));
    assert_ne!(
        Harness::real_of_frame(&out),
        servers[0],
        "rr gives the next client the next server"
    );
}

#[test]
fn weight_zero_drains_new_connections_and_keeps_old_ones() {
    let mut h = Harness::new();
    let svc = dr_service(&mut h, Scheduler::Rr, &[1, 1]);
    let first: Vec<u8> = (0..4)
        .map(|i| Harness::real_of_frame(&h.run(&client_tcp(61_000 + i, SYN, b"")).1))
        .collect();
    assert_eq!(first, vec![1, 2, 1, 2]);
    h.set_weight(&svc, 1, Forward::Dr, 0);
    for i in 0..4u16 {
        let (_, out) = h.run(&client_tcp(61_000 + i, ACK, b""));
        assert_eq!(
            Harness::real_of_frame(&out),
            first[i as usize],
            "existing flow {i}"
        );
    }
    let counts = spread(&mut h, 10);
    assert_eq!(
        counts.get(&2),
        Some(&10),
        "new connections avoid the drained server"
    );
    // All drained: a new connection cannot be scheduled and is passed.
    h.set_weight(&svc, 2, Forward::Dr, 0);
    let frame = client_tcp(62_000, SYN, b"");
    let (verdict, out) = h.run(&frame);
    assert_eq!((verdict, out), (XDP_PASS, frame));
}

#[test]
fn deleting_a_real_server_moves_its_flows_and_keeps_the_others() {
    let mut h = Harness::new();
    let svc = dr_service(&mut h, Scheduler::Rr, &[1, 1]);
    let first: Vec<u8> = (0..4)
        .map(|i| Harness::real_of_frame(&h.run(&client_tcp(63_000 + i, SYN, b"")).1))
        .collect();
    services::delete_real(&mut h.balancer.maps, &svc, real_ip(1, Forward::Dr), VPORT).unwrap();
    for (i, &server) in first.iter().enumerate() {
        let (_, out) = h.run(&client_tcp(63_000 + i as u16, ACK, b""));
        assert_eq!(
            Harness::real_of_frame(&out),
            2,
            "flow {i} (was on {server})"
        );
    }
}

fn conn_state(h: &Harness, sport: u16) -> ConnState {
    conns::list(&h.balancer.maps)
        .unwrap()
        .into_iter()
        .find(|c| c.client.port() == sport)
        .map(|c| c.state)
        .unwrap_or(ConnState::None)
}

#[test]
fn tcp_states_follow_ipvs_input_only_table() {
    let mut h = Harness::new();
    let svc = dr_service(&mut h, Scheduler::Rr, &[1]);
    let steps = [
        (SYN, ConnState::SynRecv),
        (ACK, ConnState::Established),
        (ACK, ConnState::Established),
        (FIN, ConnState::FinWait),
        (ACK, ConnState::FinWait),
        (RST, ConnState::Close),
    ];
    for (flags, expected) in steps {
        h.run(&client_tcp(64_000, flags, b""));
        assert_eq!(conn_state(&h, 64_000), expected);
    }
    // An RST right after the SYN leaves SYN_RECV (IPVS keeps it).
    h.run(&client_tcp(64_001, SYN, b""));
    h.run(&client_tcp(64_001, RST, b""));
    assert_eq!(conn_state(&h, 64_001), ConnState::SynRecv);

    let real = services::get(&h.balancer.maps, &svc).unwrap().reals[0];
    let (active, inactive) = (real.counts.active, real.counts.inactive);
    assert_eq!(
        (active, inactive),
        (0, 2),
        "both connections are inactive now"
    );
    let sweep = conns::sweep(&mut h.balancer.maps).unwrap();
    assert_eq!(sweep.live, 2);
    let list = conns::list(&h.balancer.maps).unwrap();
    let close = list.iter().find(|c| c.client.port() == 64_000).unwrap();
    assert!(close.expires_in.as_secs() <= 10, "CLOSE lives 10 s");
    assert_eq!(close.destination.ip(), &real_ip(1, Forward::Dr));
}

#[test]
fn expired_connections_are_rescheduled_and_swept() {
    let mut h = Harness::new();
    let svc = h.add_service(Protocol::Udp, Scheduler::Rr, 0);
    h.add_real(&svc, 1, Forward::Dr, 1);
    h.add_real(&svc, 2, Forward::Dr, 1);
    conns::set_timeouts(&mut h.balancer.maps, 0, 0, 1).unwrap();
    assert_eq!(conns::timeouts(&h.balancer.maps).unwrap(), (900, 120, 1));
    let frame = udp_frame((CLIENT_MAC, LB_MAC), (CLIENT, 7000), (VIP, VPORT), b"q");
    let first = Harness::real_of_frame(&h.run(&frame).1);
    assert_eq!(
        Harness::real_of_frame(&h.run(&frame).1),
        first,
        "within the timeout"
    );
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(conns::sweep(&mut h.balancer.maps).unwrap().expired, 1);
    assert!(conns::list(&h.balancer.maps).unwrap().is_empty());
    assert_ne!(
        Harness::real_of_frame(&h.run(&frame).1),
        first,
        "a new connection, the next server"
    );
}

#[test]
fn icmp_echo_to_a_vip_is_answered_by_the_director() {
    let mut h = Harness::new();
    dr_service(&mut h, Scheduler::Rr, &[1]);
    let mut request = Vec::new();
    etherparse::PacketBuilder::ethernet2(CLIENT_MAC, LB_MAC)
        .ipv4(CLIENT.octets(), VIP.octets(), 20)
        .icmpv4_echo_request(7, 1)
        .write(&mut request, b"abcdefgh")
        .unwrap();
    let (verdict, out) = h.run(&request);
    assert_eq!(verdict, XDP_TX);
    let mut expected = Vec::new();
    etherparse::PacketBuilder::ethernet2(LB_MAC, CLIENT_MAC)
        .ipv4(VIP.octets(), CLIENT.octets(), 64)
        .icmpv4_echo_reply(7, 1)
        .write(&mut expected, b"abcdefgh")
        .unwrap();
    assert_eq!(out, expected);
    assert_checksums_valid(&out, 14);

    let mut elsewhere = request.clone();
    elsewhere[33] = 99; // another destination
    elsewhere[24] = 0;
    elsewhere[25] = 0;
    let (verdict, out) = h.run(&elsewhere);
    assert_eq!((verdict, out), (XDP_PASS, elsewhere));
}

/// An ICMP "fragmentation needed" from a router on the way back to the
/// client, quoting the VIP → client segment of connection `sport`.
fn frag_needed(sport: u16, quoted_src: (Ipv4Addr, u16)) -> Vec<u8> {
    let quoted = tcp_frame((LB_MAC, CLIENT_MAC), quoted_src, (CLIENT, sport), ACK, b"");
    let router = Ipv4Addr::new(198, 18, 0, 1);
    let mut v = Vec::new();
    etherparse::PacketBuilder::ethernet2([0x02, 0, 0, 0, 0, 1], LB_MAC)
        .ipv4(router.octets(), VIP.octets(), 64)
        .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
            etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1400 },
        ))
        .write(&mut v, &quoted[14..14 + 28])
        .unwrap();
    v
}

#[test]
fn icmp_errors_about_a_connection_reach_its_real_server() {
    let mut h = Harness::new();
    dr_service(&mut h, Scheduler::Rr, &[1, 1]);
    h.run(&client_tcp(65_000, SYN, b"")); // → server 1
    h.run(&client_tcp(65_001, SYN, b"")); // → server 2
    let icmp = frag_needed(65_001, (VIP, VPORT));
    let (verdict, out) = h.run(&icmp);
    assert_eq!(verdict, XDP_TX);
    assert_eq!(&out[0..6], &real_mac(2), "to the connection's server");
    assert_eq!(&out[12..], &icmp[12..], "DR: only the MACs change");

    let unknown = frag_needed(1234, (VIP, VPORT));
    let (verdict, out) = h.run(&unknown);
    assert_eq!((verdict, out), (XDP_PASS, unknown), "no such connection");
}

#[test]
fn icmp_errors_for_nat_connections_are_translated_for_the_real_server() {
    let mut h = Harness::new();
    let svc = h.add_service(Protocol::Tcp, Scheduler::Rr, 0);
    h.add_real_port(&svc, 1, Forward::Nat, 1, 16379);
    let rip = real_ip(1, Forward::Nat);
    h.run(&client_tcp(65_100, SYN, b""));
    let (verdict, out) = h.run(&frag_needed(65_100, (VIP, VPORT)));
    assert_eq!(verdict, XDP_TX);
    assert_eq!(&out[0..6], &real_mac(1));
    assert_eq!(
        &out[30..34],
        &rip.octets(),
        "outer destination is the real server"
    );
    let expected = frag_needed(65_100, (rip, 16379));
    assert_eq!(&out[34..], &expected[34..], "quoted header says RIP:rport");
    assert_checksums_valid(&out, 14);
    assert_eq!(
        ones_sum(&out[42..62], 0),
        0xffff,
        "quoted IPv4 header checksum"
    );
}

#[test]
fn service_and_real_counters_count_packets_and_bytes() {
    let mut h = Harness::new();
    let svc = dr_service(&mut h, Scheduler::Rr, &[1]);
    let frame = client_tcp(1111, SYN, b"0123456789");
    for _ in 0..5 {
        h.run(&frame);
    }
    let service = services::get(&h.balancer.maps, &svc).unwrap();
    for c in [
        stats::service(&h.balancer.maps, service.id).unwrap(),
        stats::real(&h.balancer.maps, service.reals[0].id).unwrap(),
    ] {
        assert_eq!(c.conns, 1);
        assert_eq!(c.packets_in, 5);
        assert_eq!(c.bytes_in, 5 * (frame.len() as u64 - 14));
    }
    stats::zero(&mut h.balancer.maps, service.id, &[service.reals[0].id]).unwrap();
    assert_eq!(
        stats::service(&h.balancer.maps, service.id)
            .unwrap()
            .packets_in,
        0
    );
}

#[test]
fn a_reused_real_slot_starts_clean() {
    let mut h = Harness::new();
    let svc = dr_service(&mut h, Scheduler::Rr, &[1]);
    h.run(&client_tcp(4242, SYN, b""));
    services::delete_real(&mut h.balancer.maps, &svc, real_ip(1, Forward::Dr), VPORT).unwrap();
    assert!(
        conns::list(&h.balancer.maps).unwrap().is_empty(),
        "its connections went with it"
    );
    // Server 2 takes the freed slot: counters at zero, the old flow is new.
    h.add_real(&svc, 2, Forward::Dr, 1);
    let service = services::get(&h.balancer.maps, &svc).unwrap();
    let real = service.reals[0];
    assert_eq!(
        stats::real(&h.balancer.maps, real.id).unwrap().packets_in,
        0
    );
    assert_eq!((real.counts.active, real.counts.inactive), (0, 0));
    let (_, out) = h.run(&client_tcp(4242, ACK, b""));
    assert_eq!(Harness::real_of_frame(&out), 2);
    assert_eq!(
        stats::real(&h.balancer.maps, real.id).unwrap().conns,
        1,
        "counted as a new connection"
    );

    // A deleted and re-added service starts from zero too.
    services::delete_service(&mut h.balancer.maps, &svc).unwrap();
    let again = dr_service(&mut h, Scheduler::Rr, &[1]);
    let id = services::get(&h.balancer.maps, &again).unwrap().id;
    assert_eq!(stats::service(&h.balancer.maps, id).unwrap().packets_in, 0);
}
