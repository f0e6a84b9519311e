//! Test kit for the packet tests, the fuzz test and the data-plane bench:
//! a balancer loaded without pins, packets built with etherparse, and
//! checksum checks written independently of the data plane's code.
#![allow(dead_code)]

use aya::programs::{TestRun, TestRunOptions};
use etherparse::PacketBuilder;
use lb_ctl::services::{self, Egress, Protocol, RealSpec, ServiceAddr, ServiceOptions};
use lb_ctl::{Balancer, Forward, Scheduler};
use std::net::Ipv4Addr;

pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
pub const LB_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
pub const LB_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 11);
pub const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
pub const VPORT: u16 = 6379;
/// The loopback device: what BPF_PROG_TEST_RUN reports as ingress.
pub const LO_IFINDEX: u32 = 1;

pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;
pub const XDP_REDIRECT: u32 = 4;

/// The MAC we give real server `n` (1-based), as its next hop.
pub fn real_mac(n: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0x01, n]
}

/// Real server `n`'s address: 198.18.0.20+n, or 198.18.2.n+4 for NAT.
pub fn real_ip(n: u8, forward: Forward) -> Ipv4Addr {
    match forward {
        Forward::Nat => Ipv4Addr::new(198, 18, 2, 4 + n),
        Forward::Tun => Ipv4Addr::new(198, 18, 1, 2 + n),
        Forward::Dr => Ipv4Addr::new(198, 18, 0, 20 + n),
    }
}

pub struct Harness {
    pub balancer: Balancer,
}

impl Harness {
    /// A balancer with no services, tunnel source LB_IP.
    pub fn new() -> Harness {
        let mut balancer = Balancer::load(None).expect("load the balancer (run as root)");
        let mut cfg = balancer.maps.lb_config().unwrap();
        cfg.tunnel_src = lb_common::ip_to_net(LB_IP);
        balancer.maps.set_lb_config(&cfg).unwrap();
        Harness { balancer }
    }

    pub fn add_service(
        &mut self,
        proto: Protocol,
        sched: Scheduler,
        persistence: u32,
    ) -> ServiceAddr {
        let addr = ServiceAddr::new(VIP, VPORT, proto);
        services::add_service(
            &mut self.balancer.maps,
            &addr,
            &ServiceOptions {
                scheduler: sched,
                persistence,
                flags: 0,
            },
        )
        .unwrap();
        addr
    }

    /// Adds real server `n` with an explicit next hop (no netlink).
    pub fn add_real(&mut self, svc: &ServiceAddr, n: u8, forward: Forward, weight: u32) {
        self.add_real_port(svc, n, forward, weight, VPORT);
    }

    pub fn add_real_port(
        &mut self,
        svc: &ServiceAddr,
        n: u8,
        forward: Forward,
        weight: u32,
        port: u16,
    ) {
        services::add_real(
            &mut self.balancer.maps,
            svc,
            &real_spec(n, forward, weight, port),
        )
        .unwrap();
    }

    pub fn set_weight(&mut self, svc: &ServiceAddr, n: u8, forward: Forward, weight: u32) {
        services::edit_real(
            &mut self.balancer.maps,
            svc,
            &real_spec(n, forward, weight, VPORT),
        )
        .unwrap();
    }

    /// Runs the program once on `packet`; returns the verdict and the bytes
    /// that came out.
    pub fn run(&mut self, packet: &[u8]) -> (u32, Vec<u8>) {
        let mut out = vec![0u8; packet.len() + 256];
        let prog = self.balancer.program().unwrap();
        let result = prog
            .test_run(TestRunOptions {
                data_in: Some(packet),
                data_out: Some(&mut out),
                ..TestRunOptions::default()
            })
            .expect("BPF_PROG_TEST_RUN");
        out.truncate(result.data_size_out as usize);
        (result.return_value, out)
    }

    /// Which real server (by MAC index) a DR/TUN frame went to.
    pub fn real_of_frame(out: &[u8]) -> u8 {
        assert_eq!(&out[0..5], &real_mac(0)[0..5], "not sent to a real server");
        out[5]
    }
}

pub fn real_spec(n: u8, forward: Forward, weight: u32, port: u16) -> RealSpec {
    RealSpec {
        addr: real_ip(n, forward),
        port,
        weight,
        forward,
        egress: Some(Egress {
            ifindex: LO_IFINDEX,
            next_hop_mac: real_mac(n),
            src_mac: LB_MAC,
        }),
    }
}

/// TCP flags for [`tcp`].
#[derive(Clone, Copy, Default)]
pub struct Flags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

pub const SYN: Flags = Flags {
    syn: true,
    ack: false,
    fin: false,
    rst: false,
};
pub const ACK: Flags = Flags {
    syn: false,
    ack: true,
    fin: false,
    rst: false,
};
pub const FIN: Flags = Flags {
    syn: false,
    ack: true,
    fin: true,
    rst: false,
};
pub const RST: Flags = Flags {
    syn: false,
    ack: false,
    fin: false,
    rst: true,
};

/// An Ethernet/IPv4/TCP frame.
pub fn tcp_frame(
    (src_mac, dst_mac): ([u8; 6], [u8; 6]),
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    flags: Flags,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src.0.octets(), dst.0.octets(), 64)
        .tcp(src.1, dst.1, 1000, 64240);
    if flags.syn {
        b = b.syn();
    }
    if flags.ack {
        b = b.ack(2000);
    }
    if flags.fin {
        b = b.fin();
    }
    if flags.rst {
        b = b.rst();
    }
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

/// A client → VIP TCP frame.
pub fn client_tcp(sport: u16, flags: Flags, payload: &[u8]) -> Vec<u8> {
    client_tcp_from(CLIENT, sport, flags, payload)
}

pub fn client_tcp_from(client: Ipv4Addr, sport: u16, flags: Flags, payload: &[u8]) -> Vec<u8> {
    tcp_frame(
        (CLIENT_MAC, LB_MAC),
        (client, sport),
        (VIP, VPORT),
        flags,
        payload,
    )
}

/// An Ethernet/IPv4/UDP frame.
pub fn udp_frame(
    (src_mac, dst_mac): ([u8; 6], [u8; 6]),
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    payload: &[u8],
) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src.0.octets(), dst.0.octets(), 64)
        .udp(src.1, dst.1)
        .write(&mut v, payload)
        .unwrap();
    v
}

/// RFC 1071 sum of `data`, folded, not inverted.
pub fn ones_sum(data: &[u8], mut sum: u32) -> u16 {
    for chunk in data.chunks(2) {
        let word = if chunk.len() == 2 {
            u16::from_be_bytes([chunk[0], chunk[1]])
        } else {
            u16::from_be_bytes([chunk[0], 0])
        };
        sum += word as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Checks the IPv4 header checksum of the header at `ip` and, for TCP and
/// UDP, the L4 checksum with its pseudo-header. Panics with the reason.
pub fn assert_checksums_valid(frame: &[u8], ip: usize) {
    let ihl = (frame[ip] & 0x0f) as usize * 4;
    assert_eq!(
        ones_sum(&frame[ip..ip + ihl], 0),
        0xffff,
        "bad IPv4 header checksum"
    );
    let total = u16::from_be_bytes([frame[ip + 2], frame[ip + 3]]) as usize;
    let proto = frame[ip + 9];
    let l4 = &frame[ip + ihl..ip + total];
    let pseudo: u32 = [
        &frame[ip + 12..ip + 14],
        &frame[ip + 14..ip + 16],
        &frame[ip + 16..ip + 18],
        &frame[ip + 18..ip + 20],
    ]
    .iter()
    .map(|w| u16::from_be_bytes([w[0], w[1]]) as u32)
    .sum::<u32>()
        + proto as u32
        + l4.len() as u32;
    match proto {
        6 => assert_eq!(ones_sum(l4, pseudo), 0xffff, "bad TCP checksum"),
        17 => {
            let stored = u16::from_be_bytes([l4[6], l4[7]]);
            if stored != 0 {
                assert_eq!(ones_sum(l4, pseudo), 0xffff, "bad UDP checksum");
            }
        }
        1 => assert_eq!(ones_sum(l4, 0), 0xffff, "bad ICMP checksum"),
        _ => {}
    }
}
