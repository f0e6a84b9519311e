//! Fuzz test: 100,000 random, mutated and truncated frames through the
//! balancer. The program must never fail or abort, and a frame that is not
//! a service packet must come out exactly as it went in, with XDP_PASS.

mod common;

use common::*;
use lb_ctl::services::Protocol;
use lb_ctl::{Forward, Scheduler};
use rand::{rngs::StdRng, Rng, SeedableRng};

const RUNS: usize = 100_000;

/// Would the balancer act on this frame? Mirrors the data-plane contract:
/// IPv4 without options or fragmentation, TCP/UDP with a full header to a
/// service, or ICMP to a VIP (echo, or an error quoting a connection).
fn is_ours(frame: &[u8], services: &[(Protocol, u16)]) -> bool {
    if frame.len() < 34 || frame[12..14] != [0x08, 0x00] || frame[14] != 0x45 {
        return false;
    }
    let frag = u16::from_be_bytes([frame[20], frame[21]]) & 0x3fff;
    if frag != 0 || frame[30..34] != VIP.octets() {
        return false;
    }
    let dport = || u16::from_be_bytes([frame[36], frame[37]]);
    match frame[23] {
        1 => true,
        6 => frame.len() >= 54 && services.contains(&(Protocol::Tcp, dport())),
        17 => frame.len() >= 42 && services.contains(&(Protocol::Udp, dport())),
        _ => false,
    }
}

fn random_frame(rng: &mut StdRng) -> Vec<u8> {
    let base = match rng.gen_range(0..6) {
        0 => client_tcp(rng.gen(), SYN, b"payload"),
        1 => client_tcp(rng.gen(), ACK, &[0u8; 32]),
        2 => udp_frame((CLIENT_MAC, LB_MAC), (CLIENT, rng.gen()), (VIP, 53), b"udp"),
        3 => udp_frame(
            (CLIENT_MAC, LB_MAC),
            (CLIENT, rng.gen()),
            (VIP, rng.gen()),
            b"udp",
        ),
        4 => {
            let mut v = vec![0u8; rng.gen_range(14..200)];
            rng.fill(&mut v[..]);
            return v;
        }
        _ => tcp_frame(
            (CLIENT_MAC, LB_MAC),
            (CLIENT, rng.gen()),
            (VIP, rng.gen_range(6370..6390)),
            RST,
            b"",
        ),
    };
    let mut frame = base;
    // Flip a few bytes, often in the headers.
    for _ in 0..rng.gen_range(0..4) {
        let i = rng.gen_range(0..frame.len().min(60));
        frame[i] = rng.gen();
    }
    if rng.gen_bool(0.3) {
        let keep = rng.gen_range(14..=frame.len());
        frame.truncate(keep);
    }
    frame
}

#[test]
fn random_and_truncated_frames_never_fail_and_foreign_ones_never_change() {
    let mut h = Harness::new();
    let tcp = h.add_service(Protocol::Tcp, Scheduler::Mh, 0);
    h.add_real(&tcp, 1, Forward::Dr, 1);
    h.add_real(&tcp, 2, Forward::Tun, 1);
    let udp = lb_ctl::ServiceAddr::new(VIP, 53, Protocol::Udp);
    lb_ctl::services::add_service(
        &mut h.balancer.maps,
        &udp,
        &lb_ctl::ServiceOptions {
            scheduler: Scheduler::Rr,
            persistence: 0,
            flags: 0,
        },
    )
    .unwrap();
    lb_ctl::services::add_real(
        &mut h.balancer.maps,
        &udp,
        &real_spec(3, Forward::Nat, 1, 5353),
    )
    .unwrap();
    let services = [(Protocol::Tcp, VPORT), (Protocol::Udp, 53)];

    let mut rng = StdRng::seed_from_u64(0x005e_ed1b);
    let (mut foreign, mut ours) = (0, 0);
    for run in 0..RUNS {
        let frame = random_frame(&mut rng);
        let (verdict, out) = h.run(&frame);
        assert!(
            matches!(verdict, XDP_PASS | XDP_TX | XDP_DROP | XDP_REDIRECT),
            "run {run}: verdict {verdict} for {frame:02x?}"
        );
        if is_ours(&frame, &services) {
            ours += 1;
        } else {
            foreign += 1;
            assert_eq!(verdict, XDP_PASS, "run {run}: foreign frame {frame:02x?}");
            assert_eq!(out, frame, "run {run}: foreign frame changed");
        }
    }
    assert!(
        ours > RUNS / 10 && foreign > RUNS / 10,
        "both kinds covered: {ours} / {foreign}"
    );
}
