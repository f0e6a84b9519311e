//! Carries out a parsed ipvsadm command on the pinned maps of a running
//! instance. Library errors become ipvsadm's messages: the same library
//! error reads differently depending on the command (`-a` on a missing
//! service says "Service not defined", `-E` says "No such service").

use super::args::{Command, Format, Invocation};
use super::error::{CliError, CliResult};
use super::format::{self, ServiceRow};
use crate::conns;
use crate::error::LbError;
use crate::maps::Maps;
use crate::services::{self, RealSpec, ServiceAddr, ServiceOptions};
use crate::stats;
use lb_common::{Counters, Scheduler, MAX_CONNS};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long `--rate` watches the counters. IPVS estimates rates in the
/// kernel every 2 s; we have no estimator, so we measure.
pub const RATE_WINDOW: Duration = Duration::from_secs(1);

/// The instance a command acts on; its maps are opened on first use, so
/// `-h` works without a data plane.
pub struct Context {
    pub pin_dir: PathBuf,
    maps: Option<Maps>,
}

impl Context {
    pub fn new(pin_dir: PathBuf) -> Context {
        Context {
            pin_dir,
            maps: None,
        }
    }

    fn maps(&mut self) -> Result<&mut Maps, LbError> {
        if self.maps.is_none() {
            self.maps = Some(Maps::from_pins(&self.pin_dir)?);
        }
        Ok(self.maps.as_mut().expect("just opened"))
    }
}

/// Where a command writes.
pub struct Io<'a> {
    pub input: &'a mut dyn BufRead,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

fn written(r: std::io::Result<()>) -> CliResult<()> {
    r.map_err(|e| CliError {
        message: format!("cannot write the output: {e}"),
        code: super::error::EXIT_LIST,
    })
}

/// Runs one command. `in_restore` is set for the lines `-R` reads.
pub fn execute(
    inv: &Invocation,
    ctx: &mut Context,
    io: &mut Io<'_>,
    in_restore: bool,
) -> CliResult<()> {
    match inv.command {
        Command::Help => written(io.out.write_all(super::usage().as_bytes())),
        Command::Version => written(writeln!(io.out, "{}", super::version())),
        Command::List => list(inv, ctx, io.out),
        Command::Save => save(inv, ctx, io.out),
        Command::Restore if in_restore => Err(CliError::try_help()),
        Command::Restore => restore(ctx, io),
        _ => change(inv, ctx).map_err(CliError::from_lb),
    }
}

fn scheduler(name: &str) -> Result<Scheduler, LbError> {
    Scheduler::ALL
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| LbError::Other("Scheduler or persistence engine not found".into()))
}

/// The table-changing commands.
fn change(inv: &Invocation, ctx: &mut Context) -> Result<(), LbError> {
    let maps = ctx.maps()?;
    let svc = inv.service;
    // `-a/-e/-d` name a missing service differently from `-E/-D/-Z`.
    let service_not_defined = |e: LbError| match e {
        LbError::NoSuchService => LbError::Other("Service not defined".into()),
        other => other,
    };
    match inv.command {
        Command::AddService => {
            let options = ServiceOptions {
                scheduler: scheduler(&inv.scheduler)?,
                persistence: inv.persistence,
                flags: 0,
            };
            services::add_service(maps, &required(svc), &options)
        }
        Command::EditService => {
            let addr = required(svc);
            // ipvsadm -E sets the whole service: a missing -s means wlc
            // and a missing -p means not persistent. Our own flags stay.
            let current = services::get(maps, &addr)?;
            let options = ServiceOptions {
                scheduler: scheduler(&inv.scheduler)?,
                persistence: inv.persistence,
                flags: current.options.flags,
            };
            services::edit_service(maps, &addr, &options)
        }
        Command::DeleteService => services::delete_service(maps, &required(svc)),
        Command::Clear => services::clear(maps),
        Command::AddServer | Command::EditServer => {
            let real = inv.real.expect("checked: required");
            let spec = RealSpec {
                addr: real.addr,
                port: real.port,
                weight: inv.weight,
                forward: inv.forward,
                egress: None,
            };
            let r = if inv.command == Command::AddServer {
                services::add_real(maps, &required(svc), &spec)
            } else {
                services::edit_real(maps, &required(svc), &spec)
            };
            r.map_err(service_not_defined)
        }
        Command::DeleteServer => {
            let real = inv.real.expect("checked: required");
            services::delete_real(maps, &required(svc), real.addr, real.port)
                .map_err(service_not_defined)
        }
        Command::Set => {
            let (tcp, tcpfin, udp) = inv.set.expect("parsed with --set");
            conns::set_timeouts(maps, tcp, tcpfin, udp)
        }
        Command::Zero => {
            let targets = match svc {
                Some(addr) => vec![services::get(maps, &addr)?],
                None => services::list(maps)?,
            };
            for s in targets {
                let real_ids: Vec<u32> = s.reals.iter().map(|r| r.id).collect();
                stats::zero(maps, s.id, &real_ids)?;
            }
            Ok(())
        }
        _ => unreachable!("not a table-changing command"),
    }
}

fn required(svc: Option<ServiceAddr>) -> ServiceAddr {
    svc.expect("checked: the command requires a service")
}

/// Every service (or one) with its counters. With `--rate` the counters
/// are per-second rates measured over [`RATE_WINDOW`].
fn rows(
    maps: &Maps,
    only: Option<ServiceAddr>,
    format: &Format,
) -> Result<Vec<ServiceRow>, LbError> {
    let snapshot = || -> Result<Vec<ServiceRow>, LbError> {
        let services = match only {
            Some(addr) => vec![services::get(maps, &addr)?],
            None => services::list(maps)?,
        };
        services
            .into_iter()
            .map(|service| {
                let real_counters = service
                    .reals
                    .iter()
                    .map(|r| stats::real(maps, r.id))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(ServiceRow {
                    counters: stats::service(maps, service.id)?,
                    real_counters,
                    service,
                })
            })
            .collect()
    };
    let mut rows = snapshot()?;
    if format.rate {
        let start = Instant::now();
        std::thread::sleep(RATE_WINDOW);
        let later = snapshot()?;
        let secs = start.elapsed().as_secs_f64();
        for row in &mut rows {
            let Some(next) = later.iter().find(|r| r.service.id == row.service.id) else {
                continue;
            };
            row.counters = per_second(&row.counters, &next.counters, secs);
            for (i, real) in row.service.reals.iter().enumerate() {
                let before = row.real_counters[i];
                let after = next
                    .service
                    .reals
                    .iter()
                    .position(|r| r.id == real.id)
                    .map_or(before, |j| next.real_counters[j]);
                row.real_counters[i] = per_second(&before, &after, secs);
            }
        }
    }
    if format.nosort {
        rows.sort_by_key(|r| r.service.id);
    } else {
        format::sort_services(&mut rows);
    }
    Ok(rows)
}

/// The rate between two counter samples `secs` apart, rounded.
pub fn per_second(before: &Counters, after: &Counters, secs: f64) -> Counters {
    let rate = |a: u64, b: u64| (b.saturating_sub(a) as f64 / secs).round() as u64;
    Counters {
        conns: rate(before.conns, after.conns),
        packets_in: rate(before.packets_in, after.packets_in),
        bytes_in: rate(before.bytes_in, after.bytes_in),
        packets_out: rate(before.packets_out, after.packets_out),
        bytes_out: rate(before.bytes_out, after.bytes_out),
    }
}

fn list(inv: &Invocation, ctx: &mut Context, out: &mut dyn Write) -> CliResult<()> {
    let text = list_text(inv, ctx).map_err(CliError::from_lb_listing)?;
    written(out.write_all(text.as_bytes()))
}

fn list_text(inv: &Invocation, ctx: &mut Context) -> Result<String, LbError> {
    let maps = ctx.maps()?;
    // No kernel timer expires our entries: sweep so that ActiveConn,
    // InActConn and -c show live connections only.
    conns::sweep(maps)?;
    if inv.connections {
        return Ok(format::connection_table(&conns::list(maps)?));
    }
    if inv.timeouts {
        return Ok(format::timeouts_line(conns::timeouts(maps)?));
    }
    if inv.daemon {
        // No connection-sync daemon exists here; ipvsadm prints nothing
        // when none runs.
        return Ok(String::new());
    }
    let mut text = String::new();
    if inv.service.is_none() {
        text += &format::version_header(MAX_CONNS);
    }
    let rows = rows(maps, inv.service, &inv.format)?;
    text += &format::title(&inv.format);
    for row in &rows {
        text += &format::service_block(row, &inv.format);
    }
    if !(inv.format.stats || inv.format.rate) {
        text += &health_notes(&ctx.pin_dir);
    }
    Ok(text)
}

/// lbd's health verdicts for this instance, when lbd runs it, as `#`
/// lines after the table: ipvsadm's columns stay as they are for scripts,
/// and `-R` skips comments.
fn health_notes(pin_dir: &std::path::Path) -> String {
    use crate::lbd::health_file;
    let Some(instance) = pin_dir.file_name().and_then(|n| n.to_str()) else {
        return String::new();
    };
    health_file::read(&health_file::path(instance))
        .iter()
        .map(|(k, (up, reason))| {
            format!(
                "# health {} {}:{} -> {}:{} {} {reason}\n",
                k.service.proto.name(),
                k.service.vip,
                k.service.port,
                k.ip,
                k.port,
                if *up { "UP" } else { "DOWN" }
            )
        })
        .collect()
}

fn save(inv: &Invocation, ctx: &mut Context, out: &mut dyn Write) -> CliResult<()> {
    let text = (|| -> Result<String, LbError> {
        let maps = ctx.maps()?;
        let rows = rows(maps, None, &inv.format)?;
        Ok(rows
            .iter()
            .map(|r| format::save_block(r, &inv.format))
            .collect())
    })()
    .map_err(CliError::from_lb_listing)?;
    written(out.write_all(text.as_bytes()))
}

/// The words of one `-R` line: `#` starts a comment, and a leading
/// `ipvsadm` or `lbctl` is dropped, as ipvsadm's config_stream does.
pub fn restore_words(line: &str) -> Vec<String> {
    let line = line.split('#').next().unwrap_or_default();
    let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    if matches!(words.first().map(String::as_str), Some("ipvsadm" | "lbctl")) {
        words.remove(0);
    }
    words
}

/// `-R`: every line of stdin is a command. A line that does not parse
/// stops the restore, as ipvsadm exits on it; a refused operation is
/// reported and the rest still applies, and the exit status says so.
fn restore(ctx: &mut Context, io: &mut Io<'_>) -> CliResult<()> {
    let mut failed: Option<CliError> = None;
    let mut line = String::new();
    loop {
        line.clear();
        let n = io
            .input
            .read_line(&mut line)
            .map_err(|e| CliError::operation(format!("cannot read the rules from stdin: {e}")))?;
        if n == 0 {
            break;
        }
        let words = restore_words(&line);
        if words.is_empty() {
            continue;
        }
        let inv = super::args::parse(&words)?;
        if let Err(e) = execute(&inv, ctx, io, true) {
            if e.code == super::error::EXIT_USAGE {
                return Err(e);
            }
            let _ = writeln!(io.err, "{e}");
            failed = Some(e);
        }
    }
    match failed {
        // Already reported line by line.
        Some(e) => Err(CliError {
            message: String::new(),
            code: e.code,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_lines_drop_comments_and_the_program_name() {
        assert_eq!(
            restore_words("ipvsadm -A -t 1.2.3.4:80 -s rr # web\n"),
            ["-A", "-t", "1.2.3.4:80", "-s", "rr"]
        );
        assert!(restore_words("   # only a comment\n").is_empty());
        assert!(restore_words("\n").is_empty());
    }

    #[test]
    fn rates_are_deltas_per_second() {
        let before = Counters {
            conns: 10,
            packets_in: 100,
            bytes_in: 1000,
            packets_out: 0,
            bytes_out: 0,
        };
        let after = Counters {
            conns: 30,
            packets_in: 300,
            bytes_in: 5000,
            packets_out: 4,
            bytes_out: 0,
        };
        let r = per_second(&before, &after, 2.0);
        assert_eq!(
            (r.conns, r.packets_in, r.bytes_in, r.packets_out),
            (10, 100, 2000, 2)
        );
    }
}

#[cfg(test)]
mod health_tests {
    use super::health_notes;
    use crate::lbd::{health::RealKey, health_file};
    use crate::services::{Protocol, ServiceAddr};
    use std::net::Ipv4Addr;

    #[test]
    fn lbd_health_shows_as_comment_lines() {
        let instance = format!("lbctl-health-test-{}", std::process::id());
        let pin_dir = std::path::Path::new("/sys/fs/bpf").join(&instance);
        assert_eq!(health_notes(&pin_dir), "", "no lbd, no notes");
        let mut verdicts = health_file::Verdicts::new();
        let service = ServiceAddr::new(Ipv4Addr::new(198, 18, 0, 100), 6379, Protocol::Tcp);
        let key = RealKey {
            service,
            ip: Ipv4Addr::new(198, 18, 0, 22),
            port: 6379,
        };
        verdicts.insert(key, (false, "redis_ping failed 1 time(s) in a row".into()));
        let path = health_file::path(&instance);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        health_file::write(&path, &verdicts).unwrap();
        let notes = health_notes(&pin_dir);
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            notes,
            "# health TCP 198.18.0.100:6379 -> 198.18.0.22:6379 DOWN redis_ping failed 1 time(s) in a row\n"
        );
    }
}
