//! `cargo xtask bench dataplane`: per-packet cost of the balancer's hit
//! and new-connection paths, through BPF_PROG_TEST_RUN with repeat = 1 and
//! a fresh packet every run (with repeat > 1 the kernel would rerun the
//! program on the packet it already rewrote). Each figure is the mean of
//! the kernel-measured durations; the floor is a program that only returns
//! XDP_PASS, measured the same way. Every verdict is checked.

#[path = "../tests/common/mod.rs"]
mod common;

use aya::programs::{TestRun, TestRunOptions, Xdp};
use common::*;
use lb_ctl::services::Protocol;
use lb_ctl::{Decap, Forward, Scheduler, ServiceAddr};
use std::net::Ipv4Addr;

const RUNS: u32 = 100_000;

/// Mean kernel-measured ns over `RUNS` runs of `prog`, the frame of run
/// `i` made by `frame(i)`, each verdict asserted.
fn measure(prog: &Xdp, expected: u32, mut frame: impl FnMut(u32) -> Vec<u8>) -> f64 {
    let mut out = vec![0u8; 2048];
    let mut total_ns: u128 = 0;
    for i in 0..RUNS {
        let input = frame(i);
        let result = prog
            .test_run(TestRunOptions {
                data_in: Some(&input),
                data_out: Some(&mut out),
                ..TestRunOptions::default()
            })
            .expect("BPF_PROG_TEST_RUN");
        assert_eq!(result.return_value, expected, "run {i}: wrong verdict");
        total_ns += result.duration.as_nanos();
    }
    total_ns as f64 / RUNS as f64
}

fn service(
    h: &mut Harness,
    port: u16,
    sched: Scheduler,
    forward: Forward,
    reals: u8,
) -> ServiceAddr {
    let addr = ServiceAddr::new(VIP, port, Protocol::Tcp);
    lb_ctl::services::add_service(
        &mut h.balancer.maps,
        &addr,
        &lb_ctl::ServiceOptions {
            scheduler: sched,
            persistence: 0,
            flags: 0,
        },
    )
    .unwrap();
    for n in 1..=reals {
        lb_ctl::services::add_real(&mut h.balancer.maps, &addr, &real_spec(n, forward, 1, port))
            .unwrap();
    }
    addr
}

fn to_port(port: u16, client: Ipv4Addr, sport: u16, flags: Flags) -> Vec<u8> {
    tcp_frame(
        (CLIENT_MAC, LB_MAC),
        (client, sport),
        (VIP, port),
        flags,
        b"GET / HTTP/1.0\r\n\r\n",
    )
}

/// The hit path: one connection, then the same flow's segments.
fn hit(h: &mut Harness, port: u16, expected: u32) -> f64 {
    let (verdict, _) = h.run(&to_port(port, CLIENT, 40_000, SYN));
    assert_eq!(verdict, expected);
    let frame = to_port(port, CLIENT, 40_000, ACK);
    let prog = h.balancer.program().unwrap();
    measure(prog, expected, |_| frame.clone())
}

/// The new-connection path: every run a new client address and port.
fn new_conns(h: &mut Harness, port: u16) -> f64 {
    let prog = h.balancer.program().unwrap();
    measure(prog, XDP_TX, |i| {
        let client = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + (i >> 12) + 1);
        to_port(port, client, 1024 + (i & 0xfff) as u16, SYN)
    })
}

fn main() {
    let mut decap = Decap::load(None).expect("load the decap object (run as root)");
    let pass = {
        let frame = to_port(1, CLIENT, 1, ACK);
        measure(decap.pass_program().unwrap(), XDP_PASS, |_| frame.clone())
    };

    let mut h = Harness::new();
    service(&mut h, 6379, Scheduler::Rr, Forward::Dr, 3);
    service(&mut h, 6380, Scheduler::Rr, Forward::Tun, 3);
    service(&mut h, 6381, Scheduler::Rr, Forward::Nat, 3);
    service(&mut h, 6382, Scheduler::Mh, Forward::Dr, 10);
    let foreign = {
        let frame = to_port(9, CLIENT, 1, ACK);
        measure(h.balancer.program().unwrap(), XDP_PASS, |_| frame.clone())
    };
    let dr_hit = hit(&mut h, 6379, XDP_TX);
    let tun_hit = hit(&mut h, 6380, XDP_TX);
    let nat_hit = hit(&mut h, 6381, XDP_TX);
    let dr_new = new_conns(&mut h, 6379);
    let maglev_new = new_conns(&mut h, 6382);
    eprintln!(
        "detail: foreign_tcp_pass_ns={foreign:.1} (connection, service and NAT-reply lookups all missing)"
    );
    println!(
        "dataplane: floor_ns={pass:.1} dr_hit_ns={dr_hit:.1} tun_hit_ns={tun_hit:.1} \
         nat_hit_ns={nat_hit:.1} dr_new_ns={dr_new:.1} maglev_new_ns={maglev_new:.1}"
    );
}
