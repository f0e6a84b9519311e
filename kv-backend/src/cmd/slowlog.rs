//! SLOWLOG, LATENCY and MONITOR, and what every executed command feeds
//! them (`after_call`).

use super::server::{sub_arity, unknown_sub};
use super::{err, int_arg, table, CmdError, CmdResult, Ctx};
use crate::clients::Push;
use crate::slowlog::{truncated_argv, SlowEntry};
use bytes::Bytes;

/// Redis' help reply: a header, the lines, then HELP.
pub fn help_reply(ctx: &mut Ctx, argv: &[Bytes], lines: &[&str]) {
    ctx.out.array(lines.len() + 3);
    ctx.out.simple(&format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        String::from_utf8_lossy(&argv[0]).to_ascii_uppercase()
    ));
    for l in lines {
        ctx.out.simple(l);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Prints this help.");
}

/// A container's subcommand, lowercased, after Redis' arity check from its
/// table of (name, arity).
pub fn subcommand(argv: &[Bytes], subs: &[(&str, i32)]) -> Result<String, CmdError> {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    let Some(&(_, arity)) = subs.iter().find(|(n, _)| *n == sub) else {
        return Err(unknown_sub(argv));
    };
    let n = argv.len() as i32;
    if (arity > 0 && n != arity) || n < -arity {
        return Err(sub_arity(argv, &sub));
    }
    Ok(sub)
}

fn unix_secs() -> i64 {
    crate::util::now_ms() / 1000
}

/// Arguments Redis hides from the slow log and MONITOR (passwords).
fn redacted(argv: &[Bytes]) -> Option<Vec<Bytes>> {
    let hidden = Bytes::from_static(b"(redacted)");
    if argv[0].eq_ignore_ascii_case(b"auth") {
        let mut v = argv.to_vec();
        v[1..].fill(hidden);
        return Some(v);
    }
    if argv[0].eq_ignore_ascii_case(b"hello") {
        let mut v = argv.to_vec();
        let mut i = 2;
        while i < v.len() {
            if v[i].eq_ignore_ascii_case(b"auth") && i + 2 < v.len() {
                v[i + 1] = hidden.clone();
                v[i + 2] = hidden.clone();
                i += 3;
            } else {
                i += 2;
            }
        }
        return Some(v);
    }
    None
}

/// After a command ran: latency sample, slow log entry, MONITOR lines.
/// `slot`: the call's stat slot (`stats::slot_of`), which names its subcommand.
pub fn after_call(
    ctx: &mut Ctx,
    cmd: &'static table::Command,
    slot: Option<usize>,
    argv: &[Bytes],
    usec: u64,
) {
    let cfg = &ctx.store.config;
    // Only looked up when needed: this runs after every command.
    let flags = || super::command::effective_flags(cmd, slot);
    let threshold_ms = cfg.latency_monitor_threshold;
    if threshold_ms > 0 && usec / 1000 >= threshold_ms {
        let event = if flags() & table::FAST != 0 {
            "fast-command"
        } else {
            "command"
        };
        ctx.store.admin.latency.add(event, unix_secs(), usec / 1000);
    }
    let slower_than = cfg.slowlog_log_slower_than;
    let max_len = cfg.slowlog_max_len;
    let logged = slower_than >= 0
        && usec >= slower_than as u64
        && cmd.name != "exec"
        && ctx.client.blocked.is_none();
    let monitored = !ctx.store.admin.monitors.is_empty() && flags() & table::ADMIN == 0;
    if !logged && !monitored {
        return;
    }
    let hidden = redacted(argv);
    let argv = hidden.as_deref().unwrap_or(argv);
    let addr = ctx
        .store
        .clients
        .map
        .get(&ctx.client.id)
        .map(|c| c.addr.clone())
        .unwrap_or_default();
    if logged {
        let entry = SlowEntry {
            id: 0,
            unix_secs: unix_secs(),
            usec,
            argv: truncated_argv(argv),
            addr: addr.clone(),
            name: ctx.client.name.clone().unwrap_or_default(),
        };
        ctx.store.admin.slowlog.push(entry, max_len);
    }
    if monitored {
        let line = monitor_line(ctx.client.db, &addr, argv);
        ctx.store
            .admin
            .monitors
            .retain(|(_, tx)| tx.send(Push::Data(line.clone())).is_ok());
    }
}

/// Redis' sdscatrepr: a double-quoted string with C escapes.
pub fn quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// One MONITOR line: `+<secs>.<usecs> [<db> <addr>] "cmd" "arg"...`.
fn monitor_line(db: usize, addr: &str, argv: &[Bytes]) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = format!(
        "+{}.{:06} [{db} {addr}] ",
        now.as_secs(),
        now.subsec_micros()
    )
    .into_bytes();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        quoted(&mut line, a);
    }
    line.extend_from_slice(b"\r\n");
    line
}

const SLOWLOG_SUBS: &[(&str, i32)] = &[("get", -2), ("help", 2), ("len", 2), ("reset", 2)];

pub fn slowlog(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    match subcommand(argv, SLOWLOG_SUBS)?.as_str() {
        "get" => {
            if argv.len() > 3 {
                return Err(err(format!(
                    "ERR unknown subcommand or wrong number of arguments for '{}'. Try SLOWLOG HELP.",
                    String::from_utf8_lossy(&argv[1])
                )));
            }
            let count = match argv.get(2) {
                None => 10,
                Some(a) => match int_arg(a) {
                    Ok(-1) => usize::MAX,
                    Ok(n) if n >= 0 => n as usize,
                    _ => return Err(err("ERR count should be greater than or equal to -1")),
                },
            };
            let log = &ctx.store.admin.slowlog.entries;
            let n = count.min(log.len());
            ctx.out.array(n);
            for e in log.iter().take(n) {
                ctx.out.array(6);
                ctx.out.int(e.id as i64);
                ctx.out.int(e.unix_secs);
                ctx.out.int(e.usec as i64);
                ctx.out.array(e.argv.len());
                for a in &e.argv {
                    ctx.out.bulk(a);
                }
                ctx.out.bulk(e.addr.as_bytes());
                ctx.out.bulk(e.name.as_bytes());
            }
        }
        "len" => ctx.out.int(ctx.store.admin.slowlog.entries.len() as i64),
        "reset" => {
            ctx.store.admin.slowlog.reset();
            ctx.out.ok();
        }
        _ => help_reply(
            ctx,
            argv,
            &[
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
            ],
        ),
    }
    Ok(())
}

const LATENCY_SUBS: &[(&str, i32)] = &[
    ("doctor", 2),
    ("help", 2),
    ("histogram", -2),
    ("history", 3),
    ("latest", 2),
    ("reset", -2),
];

pub fn latency(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let monitor = &mut ctx.store.admin.latency;
    match subcommand(argv, LATENCY_SUBS)?.as_str() {
        "history" => {
            let event = String::from_utf8_lossy(&argv[2]).to_ascii_lowercase();
            let samples: Vec<_> = monitor
                .events
                .get(event.as_str())
                .map(|s| s.history().collect())
                .unwrap_or_default();
            ctx.out.array(samples.len());
            for s in samples {
                ctx.out.array(2);
                ctx.out.int(s.unix_secs);
                ctx.out.int(s.ms as i64);
            }
        }
        "latest" => {
            ctx.out.array(monitor.events.len());
            for (event, series) in &monitor.events {
                let last = series.latest();
                ctx.out.array(4);
                ctx.out.bulk(event.as_bytes());
                ctx.out.int(last.unix_secs);
                ctx.out.int(last.ms as i64);
                ctx.out.int(series.max as i64);
            }
        }
        "reset" => {
            let names: Vec<String> = argv[2..]
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let n = monitor.reset(&names);
            ctx.out.int(n as i64);
        }
        "histogram" => latency_histogram(ctx, &argv[2..]),
        "doctor" => {
            let text = monitor.doctor(ctx.store.config.latency_monitor_threshold);
            ctx.out.verbatim(&text);
        }
        _ => help_reply(
            ctx,
            argv,
            &[
                "DOCTOR",
                "    Return a human readable latency analysis report.",
                "GRAPH <event>",
                "    Return an ASCII latency graph for the <event> class.",
                "HISTORY <event>",
                "    Return time-latency samples for the <event> class.",
                "LATEST",
                "    Return the latest latency samples for all events.",
                "RESET [<event> ...]",
                "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HISTOGRAM [COMMAND ...]",
                "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                "    If no commands are specified then all histograms are replied.",
            ],
        ),
    }
    Ok(())
}

/// LATENCY HISTOGRAM [command...]: per command, its calls and cumulative
/// counts at power-of-two microseconds. A container's name stands for its
/// subcommands; unknown names are skipped.
fn latency_histogram(ctx: &mut Ctx, names: &[Bytes]) {
    let wanted: Vec<String> = names
        .iter()
        .map(|n| String::from_utf8_lossy(n).to_ascii_lowercase())
        .collect();
    let stats = &ctx.store.stats.commands;
    let picked: Vec<_> = if wanted.is_empty() {
        stats.histograms().collect()
    } else {
        wanted
            .iter()
            .flat_map(|w| {
                stats.histograms().filter(move |(name, _)| {
                    name == w
                        || name
                            .strip_prefix(w.as_str())
                            .is_some_and(|r| r.starts_with('|'))
                })
            })
            .collect()
    };
    ctx.out.map(picked.len());
    for (name, h) in picked {
        ctx.out.bulk(name.as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"calls");
        ctx.out.int(h.total as i64);
        ctx.out.bulk(b"histogram_usec");
        let steps = h.cumulative_pow2_usec();
        ctx.out.map(steps.len());
        for (usec, count) in steps {
            ctx.out.int(usec as i64);
            ctx.out.int(count as i64);
        }
    }
}

/// MONITOR: from now on this connection receives every command others run.
pub fn monitor(ctx: &mut Ctx, _argv: &[Bytes]) -> CmdResult {
    let id = ctx.client.id;
    let monitors = &mut ctx.store.admin.monitors;
    if !monitors.iter().any(|(m, _)| *m == id) {
        monitors.push((id, ctx.client.tx.clone()));
    }
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_quotes_like_sdscatrepr() {
        let mut out = Vec::new();
        quoted(&mut out, b"a\"b\\c\n\x01\xff ");
        assert_eq!(out, b"\"a\\\"b\\\\c\\n\\x01\\xff \"");
        let line = monitor_line(3, "1.2.3.4:5", &[Bytes::from("set"), Bytes::from("k")]);
        let text = String::from_utf8(line).expect("ascii");
        assert!(text.starts_with('+'));
        assert!(text.ends_with(" [3 1.2.3.4:5] \"set\" \"k\"\r\n"));
    }

    #[test]
    fn passwords_are_redacted() {
        let v = redacted(&[Bytes::from("AUTH"), Bytes::from("u"), Bytes::from("p")]).expect("auth");
        assert_eq!(v[1], "(redacted)");
        assert_eq!(v[2], "(redacted)");
        let v = redacted(&[
            Bytes::from("HELLO"),
            Bytes::from("3"),
            Bytes::from("AUTH"),
            Bytes::from("u"),
            Bytes::from("p"),
        ])
        .expect("hello");
        assert_eq!(v[2], "AUTH");
        assert_eq!(v[4], "(redacted)");
        assert!(redacted(&[Bytes::from("GET"), Bytes::from("k")]).is_none());
    }
}
