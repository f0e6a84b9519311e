//! The tables, byte for byte as ipvsadm 1.31 prints them (print_title,
//! print_service_entry, print_largenum, list_conn, list_timeout), so that
//! scripts that cut columns out of `ipvsadm -L -n` work on `lbctl -L -n`.
//! Addresses are always numeric: lbctl does no name lookups.

use super::args::Format;
use crate::conns::Connection;
use crate::services::{Protocol, Real, Service};
use lb_common::{Counters, Forward};
use std::fmt::Write;

/// The kernel IPVS version ipvsadm shows; ours speaks its interface.
pub const IPVS_VERSION: &str = "1.2.1";

/// A service with its counters, as one block of `-L` prints it. With
/// `--rate` the counters hold per-second rates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRow {
    pub service: Service,
    pub counters: Counters,
    /// Parallel to `service.reals`.
    pub real_counters: Vec<Counters>,
}

/// The first line of `-L` without a service.
pub fn version_header(conn_table_size: u32) -> String {
    format!("IP Virtual Server version {IPVS_VERSION} (size={conn_table_size})\n")
}

/// ipvsadm's `print_title`.
pub fn title(format: &Format) -> String {
    let counters = |names: [&str; 5]| {
        format!(
            "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", names[0], names[1], names[2], names[3], names[4]
        )
    };
    if format.stats {
        counters(["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"])
    } else if format.rate {
        counters(["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"])
    } else {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            .to_string()
    }
}

/// ipvsadm's `print_largenum`: right-aligned in 9 columns, scaled to
/// K/M/G/T unless `--exact`.
pub fn largenum(i: u64, exact: bool) -> String {
    if exact {
        let digits = i.to_string();
        let width = if digits.len() <= 8 {
            9
        } else {
            digits.len() + 1
        };
        return format!("{digits:>width$}");
    }
    match i {
        0..=99_999_999 => format!("{i:>9}"),
        100_000_000..=999_999_999 => format!("{:>8}K", i / 1_000),
        1_000_000_000..=99_999_999_999 => format!("{:>8}M", i / 1_000_000),
        100_000_000_000..=99_999_999_999_999 => format!("{:>8}G", i / 1_000_000_000),
        _ => format!("{:>8}T", i / 1_000_000_000_000),
    }
}

fn counters(c: &Counters, exact: bool) -> String {
    [
        c.conns,
        c.packets_in,
        c.packets_out,
        c.bytes_in,
        c.bytes_out,
    ]
    .iter()
    .map(|&n| largenum(n, exact))
    .collect()
}

/// `Route`, `Tunnel`, `Masq` (ipvsadm's `fwd_name`).
pub fn forward_name(f: Forward) -> &'static str {
    match f {
        Forward::Dr => "Route",
        Forward::Tun => "Tunnel",
        Forward::Nat => "Masq",
    }
}

/// `-g`, `-i`, `-m` (ipvsadm's `fwd_switch`).
pub fn forward_switch(f: Forward) -> &'static str {
    match f {
        Forward::Dr => "-g",
        Forward::Tun => "-i",
        Forward::Nat => "-m",
    }
}

fn protocol_switch(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "-t",
        Protocol::Udp => "-u",
    }
}

fn truncated(mut s: String, len: usize) -> String {
    s.truncate(len);
    s
}

/// The real servers in print order: by address then port, as ipvsadm
/// sorts them, unless `--nosort`.
fn reals_in_order<'a>(row: &'a ServiceRow, format: &Format) -> Vec<(&'a Real, Counters)> {
    let mut reals: Vec<(&Real, Counters)> = row
        .service
        .reals
        .iter()
        .zip(
            row.real_counters
                .iter()
                .copied()
                .chain(std::iter::repeat(Counters::default())),
        )
        .collect();
    if !format.nosort {
        reals.sort_by_key(|(r, _)| (r.addr, r.port));
    }
    reals
}

/// ipvsadm's order of services: protocol, then address, then port.
pub fn sort_services(rows: &mut [ServiceRow]) {
    rows.sort_by_key(|r| {
        let a = r.service.addr;
        (a.proto.number(), a.vip, a.port)
    });
}

/// One service and its real servers, as `-L` prints them.
pub fn service_block(row: &ServiceRow, format: &Format) -> String {
    let svc = &row.service;
    let name = truncated(
        format!(
            "{:<4} {}:{}",
            svc.addr.proto.name(),
            svc.addr.vip,
            svc.addr.port
        ),
        33,
    );
    let mut out = String::new();
    if format.stats || format.rate {
        let _ = writeln!(out, "{name:<33}{}", counters(&row.counters, format.exact));
    } else {
        let _ = write!(out, "{name} {}", svc.options.scheduler.name());
        if svc.options.persistence > 0 {
            let _ = write!(out, " persistent {}", svc.options.persistence);
        }
        out.push('\n');
    }
    for (real, c) in reals_in_order(row, format) {
        let dest = truncated(format!("{}:{}", real.addr, real.port), 28);
        if format.stats {
            let _ = writeln!(out, "  -> {dest:<28}{}", counters(&c, format.exact));
        } else if format.rate {
            let _ = writeln!(
                out,
                "  -> {dest:<28} {:>8} {:>8} {:>8}{}{}",
                c.conns,
                c.packets_in,
                c.packets_out,
                largenum(c.bytes_in, format.exact),
                largenum(c.bytes_out, format.exact)
            );
        } else {
            let _ = writeln!(
                out,
                "  -> {dest:<28} {:<7} {:<6} {:<10} {:<10}",
                forward_name(real.forward),
                real.weight,
                real.counts.active,
                real.counts.inactive
            );
        }
    }
    out
}

/// One service as `-S` saves it: an `-A` line and its `-a` lines, which
/// `-R` reads back.
pub fn save_block(row: &ServiceRow, format: &Format) -> String {
    let svc = &row.service;
    let name = format!(
        "{} {}:{}",
        protocol_switch(svc.addr.proto),
        svc.addr.vip,
        svc.addr.port
    );
    let mut out = format!("-A {name} -s {}", svc.options.scheduler.name());
    if svc.options.persistence > 0 {
        let _ = write!(out, " -p {}", svc.options.persistence);
    }
    out.push('\n');
    for (real, _) in reals_in_order(row, format) {
        let _ = writeln!(
            out,
            "-a {name} -r {}:{} {} -w {}",
            real.addr,
            real.port,
            forward_switch(real.forward),
            real.weight
        );
    }
    out
}

/// `mm:ss` of the time left, as /proc/net/ip_vs_conn's seconds print.
pub fn expire(secs: u64) -> String {
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

/// `-L -c`: the connection table.
pub fn connection_table(conns: &[Connection]) -> String {
    let mut out = String::from("IPVS connection entries\n");
    let _ = writeln!(
        out,
        "pro expire {:<11} {:<18} {:<18} destination",
        "state", "source", "virtual"
    );
    for c in conns {
        let _ = writeln!(
            out,
            "{:<3} {:<6} {:<11} {:<18} {:<18} {}",
            c.proto.name(),
            expire(c.expires_in.as_secs()),
            c.state.name(),
            c.client.to_string(),
            c.virtual_addr.to_string(),
            c.destination
        );
    }
    out
}

/// `-L --timeout`.
pub fn timeouts_line((tcp, tcpfin, udp): (u32, u32, u32)) -> String {
    format!("Timeout (tcp tcpfin udp): {tcp} {tcpfin} {udp}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::{Egress, ServiceAddr, ServiceOptions};
    use lb_common::{ConnState, RealConnCounts, Scheduler};
    use std::net::{Ipv4Addr, SocketAddrV4};
    use std::time::Duration;

    fn real(last: u8, port: u16, forward: Forward, weight: u32, counts: (u32, u32)) -> Real {
        Real {
            id: last as u32,
            addr: Ipv4Addr::new(198, 18, 0, last),
            port,
            weight,
            forward,
            egress: Egress::default(),
            counts: RealConnCounts {
                active: counts.0,
                inactive: counts.1,
            },
        }
    }

    fn row(persistence: u32) -> ServiceRow {
        ServiceRow {
            service: Service {
                id: 0,
                addr: ServiceAddr::new(Ipv4Addr::new(198, 18, 0, 100), 6379, Protocol::Tcp),
                options: ServiceOptions {
                    scheduler: Scheduler::Rr,
                    persistence,
                    flags: 0,
                },
                reals: vec![
                    real(22, 6379, Forward::Dr, 1, (0, 0)),
                    real(21, 6379, Forward::Dr, 3, (12, 4)),
                ],
            },
            counters: Counters {
                conns: 17,
                packets_in: 123_456_789,
                bytes_in: 12_345_678_901,
                packets_out: 0,
                bytes_out: 5,
            },
            real_counters: vec![Counters::default(); 2],
        }
    }

    #[test]
    fn list_block_matches_ipvsadm() {
        let text = title(&Format::default()) + &service_block(&row(0), &Format::default());
        assert_eq!(
            text,
            "Prot LocalAddress:Port Scheduler Flags\n\
             \x20 -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
             TCP  198.18.0.100:6379 rr\n\
             \x20 -> 198.18.0.21:6379             Route   3      12         4         \n\
             \x20 -> 198.18.0.22:6379             Route   1      0          0         \n"
        );
        assert!(service_block(&row(300), &Format::default())
            .starts_with("TCP  198.18.0.100:6379 rr persistent 300\n"));
    }

    #[test]
    fn stats_block_scales_large_numbers() {
        let f = Format {
            stats: true,
            ..Format::default()
        };
        let text = service_block(&row(0), &f);
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            "TCP  198.18.0.100:6379                  17  123456K        0   12345M        5"
        );
        let exact = Format { exact: true, ..f };
        let first = service_block(&row(0), &exact)
            .lines()
            .next()
            .unwrap()
            .to_string();
        assert!(
            first.ends_with("      17 123456789        0 12345678901        5"),
            "{first}"
        );
    }

    #[test]
    fn largenum_follows_print_largenum() {
        assert_eq!(largenum(0, false), "        0");
        assert_eq!(largenum(99_999_999, false), " 99999999");
        assert_eq!(largenum(100_000_000, false), "  100000K");
        assert_eq!(largenum(1_000_000_000, false), "    1000M");
        assert_eq!(largenum(100_000_000_000, false), "     100G");
        assert_eq!(largenum(100_000_000_000_000, false), "     100T");
        assert_eq!(largenum(123_456_789_012, true), " 123456789012");
    }

    #[test]
    fn save_lines_restore() {
        let text = save_block(&row(60), &Format::default());
        assert_eq!(
            text,
            "-A -t 198.18.0.100:6379 -s rr -p 60\n\
             -a -t 198.18.0.100:6379 -r 198.18.0.21:6379 -g -w 3\n\
             -a -t 198.18.0.100:6379 -r 198.18.0.22:6379 -g -w 1\n"
        );
        for line in text.lines() {
            let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
            super::super::args::parse(&words).unwrap();
        }
    }

    #[test]
    fn connection_lines_match_list_conn() {
        let c = Connection {
            proto: Protocol::Tcp,
            client: SocketAddrV4::new(Ipv4Addr::new(192, 168, 150, 1), 51587),
            virtual_addr: SocketAddrV4::new(Ipv4Addr::new(192, 168, 150, 100), 80),
            destination: SocketAddrV4::new(Ipv4Addr::new(192, 168, 150, 12), 80),
            state: ConnState::FinWait,
            expires_in: Duration::from_millis(57_900),
            real_id: 0,
            service_id: 0,
        };
        assert_eq!(
            connection_table(&[c]),
            "IPVS connection entries\n\
             pro expire state       source             virtual            destination\n\
             TCP 00:57  FIN_WAIT    192.168.150.1:51587 192.168.150.100:80 192.168.150.12:80\n"
        );
        assert_eq!(expire(900), "15:00");
    }
}
