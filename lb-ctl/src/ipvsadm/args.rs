//! ipvsadm's command line, parsed the way popt parses it for ipvsadm 1.31:
//! short flags cluster (`-lnc`, `-Ln`), a short option's value may be
//! glued on (`-w3`) or follow, long options take `--name value` or
//! `--name=value`, and `-p` takes its timeout only when the next word is
//! not an option. After parsing, the command/option table and the
//! post-parse rules of ipvsadm's `process_options` apply, with the same
//! messages and exit codes.

use super::error::{CliError, CliResult};
use crate::services::{Protocol, ServiceAddr};
use lb_common::Forward;
use std::net::Ipv4Addr;

/// The longest timeout ipvsadm accepts (31 days).
pub const MAX_TIMEOUT: u32 = 86400 * 31;
/// `-p` without a value (IPVS_SVC_PERSISTENT_TIMEOUT).
pub const DEFAULT_PERSISTENCE: u32 = 300;
/// The scheduler of `-A`/`-E` without `-s`.
pub const DEFAULT_SCHEDULER: &str = "wlc";

/// ipvsadm's commands, in its `cmdnames` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    AddService,
    EditService,
    DeleteService,
    Clear,
    List,
    AddServer,
    DeleteServer,
    EditServer,
    Set,
    Restore,
    Save,
    Zero,
    Help,
    Version,
}

impl Command {
    /// The name ipvsadm's messages use.
    pub fn name(self) -> &'static str {
        match self {
            Command::AddService => "add-service",
            Command::EditService => "edit-service",
            Command::DeleteService => "delete-service",
            Command::Clear => "flush",
            Command::List => "list",
            Command::AddServer => "add-server",
            Command::DeleteServer => "delete-server",
            Command::EditServer => "edit-server",
            Command::Set => "set",
            Command::Restore => "restore",
            Command::Save => "save",
            Command::Zero => "zero",
            Command::Help => "help",
            Command::Version => "version",
        }
    }

    /// ipvsadm's row of legal options, one character per [`Opt`] in
    /// `Opt::ALL` order: '+' required, 'x' illegal, '1' at most one of
    /// the '1's, ' ' optional. `None`: nothing to check.
    fn legal_options(self) -> Option<&'static [u8; Opt::COUNT]> {
        // Columns: numeric, connection, service-address, scheduler,
        // persistent, real-server, forwarding-method, weight, timeout,
        // daemon, stats, rate, nosort, exact.
        Some(match self {
            Command::AddService | Command::EditService => b"xx+  xxxxxxxxx",
            Command::DeleteService => b"xx+xxxxxxxxxxx",
            Command::Clear | Command::Set | Command::Restore => b"xxxxxxxxxxxxxx",
            Command::List => b" 11xxxxx11    ",
            Command::AddServer | Command::EditServer => b"xx+xx+  xxxxxx",
            Command::DeleteServer => b"xx+xx+xxxxxxxx",
            Command::Save => b" xxxxxxxxxxxxx",
            Command::Zero => b"xx xxxxxxxxxxx",
            Command::Help | Command::Version => return None,
        })
    }
}

/// The options ipvsadm checks against each command, in its column order
/// (the order its checks, and so its error messages, come in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opt {
    Numeric,
    Connection,
    Service,
    Scheduler,
    Persistent,
    RealServer,
    Forward,
    Weight,
    Timeout,
    Daemon,
    Stats,
    Rate,
    NoSort,
    Exact,
}

impl Opt {
    const COUNT: usize = 14;
    const ALL: [Opt; Opt::COUNT] = [
        Opt::Numeric,
        Opt::Connection,
        Opt::Service,
        Opt::Scheduler,
        Opt::Persistent,
        Opt::RealServer,
        Opt::Forward,
        Opt::Weight,
        Opt::Timeout,
        Opt::Daemon,
        Opt::Stats,
        Opt::Rate,
        Opt::NoSort,
        Opt::Exact,
    ];

    /// ipvsadm's `optnames`.
    fn name(self) -> &'static str {
        match self {
            Opt::Numeric => "numeric",
            Opt::Connection => "connection",
            Opt::Service => "service-address",
            Opt::Scheduler => "scheduler",
            Opt::Persistent => "persistent",
            Opt::RealServer => "real-server",
            Opt::Forward => "forwarding-method",
            Opt::Weight => "weight",
            Opt::Timeout => "timeout",
            Opt::Daemon => "daemon",
            Opt::Stats => "stats",
            Opt::Rate => "rate",
            Opt::NoSort => "nosort",
            Opt::Exact => "exact",
        }
    }

    fn bit(self) -> u32 {
        1 << Opt::ALL.iter().position(|&o| o == self).expect("listed")
    }
}

/// How the tables are printed (ipvsadm's FMT_* flags that we honour).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Format {
    pub numeric: bool,
    pub stats: bool,
    pub rate: bool,
    pub exact: bool,
    pub nosort: bool,
}

/// `-r host[:port]` as given; the port is settled once the whole line is
/// read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealArg {
    pub addr: Ipv4Addr,
    pub port: u16,
}

/// One parsed ipvsadm command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    pub command: Command,
    pub service: Option<ServiceAddr>,
    /// `-s`; `wlc` for `-A`/`-E` without it.
    pub scheduler: String,
    /// `-p [timeout]`; 0 = not persistent.
    pub persistence: u32,
    pub real: Option<RealArg>,
    /// `-g` (default), `-i`, `-m`.
    pub forward: Forward,
    /// `-w`; 1 by default.
    pub weight: u32,
    pub format: Format,
    /// `-L -c`.
    pub connections: bool,
    /// `-L --timeout`.
    pub timeouts: bool,
    /// `-L --daemon`.
    pub daemon: bool,
    /// `--set tcp tcpfin udp`.
    pub set: Option<(u32, u32, u32)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    None,
    Required,
    /// Taken only when glued on or when the next word is no option.
    Optional,
}

#[derive(Clone, Copy)]
enum Key {
    Command(Command),
    Service(Protocol),
    Scheduler,
    Persistent,
    RealServer,
    Forward(Forward),
    Weight,
    Flag(Opt),
    /// `--sort`: the default, accepted for compatibility.
    Sort,
    /// An ipvsadm option our data plane has no counterpart for.
    Unsupported,
}

struct Spec {
    long: &'static str,
    short: Option<char>,
    value: Value,
    key: Key,
}

const fn spec(long: &'static str, short: Option<char>, value: Value, key: Key) -> Spec {
    Spec {
        long,
        short,
        value,
        key,
    }
}

const SPECS: &[Spec] = &[
    spec(
        "add-service",
        Some('A'),
        Value::None,
        Key::Command(Command::AddService),
    ),
    spec(
        "edit-service",
        Some('E'),
        Value::None,
        Key::Command(Command::EditService),
    ),
    spec(
        "delete-service",
        Some('D'),
        Value::None,
        Key::Command(Command::DeleteService),
    ),
    spec(
        "clear",
        Some('C'),
        Value::None,
        Key::Command(Command::Clear),
    ),
    spec("list", Some('L'), Value::None, Key::Command(Command::List)),
    spec("list", Some('l'), Value::None, Key::Command(Command::List)),
    spec("zero", Some('Z'), Value::None, Key::Command(Command::Zero)),
    spec(
        "add-server",
        Some('a'),
        Value::None,
        Key::Command(Command::AddServer),
    ),
    spec(
        "edit-server",
        Some('e'),
        Value::None,
        Key::Command(Command::EditServer),
    ),
    spec(
        "delete-server",
        Some('d'),
        Value::None,
        Key::Command(Command::DeleteServer),
    ),
    spec("set", None, Value::None, Key::Command(Command::Set)),
    spec("help", Some('h'), Value::None, Key::Command(Command::Help)),
    spec(
        "version",
        Some('v'),
        Value::None,
        Key::Command(Command::Version),
    ),
    spec(
        "restore",
        Some('R'),
        Value::None,
        Key::Command(Command::Restore),
    ),
    spec("save", Some('S'), Value::None, Key::Command(Command::Save)),
    spec(
        "tcp-service",
        Some('t'),
        Value::Required,
        Key::Service(Protocol::Tcp),
    ),
    spec(
        "udp-service",
        Some('u'),
        Value::Required,
        Key::Service(Protocol::Udp),
    ),
    spec("scheduler", Some('s'), Value::Required, Key::Scheduler),
    spec("persistent", Some('p'), Value::Optional, Key::Persistent),
    spec("real-server", Some('r'), Value::Required, Key::RealServer),
    spec(
        "masquerading",
        Some('m'),
        Value::None,
        Key::Forward(Forward::Nat),
    ),
    spec("ipip", Some('i'), Value::None, Key::Forward(Forward::Tun)),
    spec(
        "gatewaying",
        Some('g'),
        Value::None,
        Key::Forward(Forward::Dr),
    ),
    spec("weight", Some('w'), Value::Required, Key::Weight),
    spec("numeric", Some('n'), Value::None, Key::Flag(Opt::Numeric)),
    spec(
        "connection",
        Some('c'),
        Value::None,
        Key::Flag(Opt::Connection),
    ),
    spec("timeout", None, Value::None, Key::Flag(Opt::Timeout)),
    spec("daemon", None, Value::None, Key::Flag(Opt::Daemon)),
    spec("stats", None, Value::None, Key::Flag(Opt::Stats)),
    spec("rate", None, Value::None, Key::Flag(Opt::Rate)),
    spec("nosort", None, Value::None, Key::Flag(Opt::NoSort)),
    spec("sort", None, Value::None, Key::Sort),
    spec("exact", Some('X'), Value::None, Key::Flag(Opt::Exact)),
    spec(
        "fwmark-service",
        Some('f'),
        Value::Required,
        Key::Unsupported,
    ),
    spec("sctp-service", None, Value::Required, Key::Unsupported),
    spec("netmask", Some('M'), Value::Required, Key::Unsupported),
    spec("u-threshold", Some('x'), Value::Required, Key::Unsupported),
    spec("l-threshold", Some('y'), Value::Required, Key::Unsupported),
    spec("thresholds", None, Value::None, Key::Unsupported),
    spec("persistent-conn", None, Value::None, Key::Unsupported),
    spec("ipv6", Some('6'), Value::None, Key::Unsupported),
    spec("ops", Some('o'), Value::None, Key::Unsupported),
    spec("pe", None, Value::Required, Key::Unsupported),
    spec("sched-flags", Some('b'), Value::Required, Key::Unsupported),
    spec("start-daemon", None, Value::Required, Key::Unsupported),
    spec("stop-daemon", None, Value::Required, Key::Unsupported),
    spec("mcast-interface", None, Value::Required, Key::Unsupported),
    spec("mcast-group", None, Value::Required, Key::Unsupported),
    spec("mcast-port", None, Value::Required, Key::Unsupported),
    spec("mcast-ttl", None, Value::Required, Key::Unsupported),
    spec("sync-maxlen", None, Value::Required, Key::Unsupported),
    spec("syncid", None, Value::Required, Key::Unsupported),
    spec("tun-info", None, Value::None, Key::Unsupported),
    spec("tun-type", None, Value::Required, Key::Unsupported),
    spec("tun-port", None, Value::Required, Key::Unsupported),
    spec("tun-nocsum", None, Value::None, Key::Unsupported),
    spec("tun-csum", None, Value::None, Key::Unsupported),
    spec("tun-remcsum", None, Value::None, Key::Unsupported),
];

/// What the scan collects before ipvsadm's checks run.
#[derive(Default)]
struct Scan {
    command: Option<Command>,
    options: u32,
    service: Option<ServiceAddr>,
    scheduler: Option<String>,
    persistence: Option<u32>,
    /// The address and the port if one was given.
    real: Option<(Ipv4Addr, Option<u16>)>,
    forward: Option<Forward>,
    weight: Option<u32>,
    positional: Vec<String>,
}

impl Scan {
    fn set_command(&mut self, command: Command) -> CliResult<()> {
        if self.command.is_some() {
            return Err(CliError::usage("multiple commands specified"));
        }
        self.command = Some(command);
        Ok(())
    }

    fn set_option(&mut self, opt: Opt) -> CliResult<()> {
        if self.options & opt.bit() != 0 {
            return Err(CliError::usage(format!(
                "multiple '{}' options specified",
                opt.name()
            )));
        }
        self.options |= opt.bit();
        Ok(())
    }

    fn has(&self, opt: Opt) -> bool {
        self.options & opt.bit() != 0
    }

    fn apply(&mut self, spec: &Spec, shown: &str, value: Option<String>) -> CliResult<()> {
        let value_str = value.as_deref().unwrap_or_default();
        match spec.key {
            Key::Command(c) => self.set_command(c)?,
            Key::Service(proto) => {
                self.set_option(Opt::Service)?;
                let (vip, port) = parse_host_port(value_str, proto).ok_or_else(|| {
                    CliError::usage("illegal virtual server address[:port] specified")
                })?;
                self.service = Some(ServiceAddr::new(vip, port.unwrap_or(0), proto));
            }
            Key::Scheduler => {
                self.set_option(Opt::Scheduler)?;
                self.scheduler = Some(value_str.to_string());
            }
            Key::Persistent => {
                self.set_option(Opt::Persistent)?;
                self.persistence = Some(match &value {
                    None => DEFAULT_PERSISTENCE,
                    Some(v) => parse_timeout(v, 1)?,
                });
            }
            Key::RealServer => {
                self.set_option(Opt::RealServer)?;
                let proto = self.service.map_or(Protocol::Tcp, |s| s.proto);
                self.real = Some(parse_host_port(value_str, proto).ok_or_else(|| {
                    CliError::usage("illegal real server address[:port] specified")
                })?);
            }
            Key::Forward(f) => {
                self.set_option(Opt::Forward)?;
                self.forward = Some(f);
            }
            Key::Weight => {
                self.set_option(Opt::Weight)?;
                let w = string_to_number(value_str, 0, 65535)
                    .ok_or_else(|| CliError::usage("illegal weight specified"))?;
                self.weight = Some(w);
            }
            Key::Flag(opt) => self.set_option(opt)?,
            Key::Sort => {}
            Key::Unsupported => {
                return Err(CliError::usage(format!(
                    "{shown}: ipvsadm's '{}' option is not supported by lbctl's data plane",
                    spec.long
                )))
            }
        }
        Ok(())
    }
}

fn unknown(shown: &str) -> CliError {
    CliError::operation(format!("{shown}: unknown option"))
}

fn missing(shown: &str) -> CliError {
    CliError::operation(format!("{shown}: missing argument"))
}

/// Scans the words of one command line (without the program name).
fn scan(args: &[String]) -> CliResult<Scan> {
    let mut s = Scan::default();
    let mut words = args.iter().peekable();
    while let Some(word) = words.next() {
        if word == "--" {
            s.positional.extend(words.by_ref().cloned());
            break;
        }
        if let Some(body) = word.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let spec = SPECS
                .iter()
                .find(|s| s.long == name)
                .ok_or_else(|| unknown(word))?;
            let value = match spec.value {
                Value::None if inline.is_some() => {
                    return Err(CliError::operation(format!(
                        "--{name}: option does not take an argument"
                    )))
                }
                Value::None => None,
                Value::Required => match inline {
                    Some(v) => Some(v),
                    None => Some(words.next().ok_or_else(|| missing(word))?.clone()),
                },
                Value::Optional => {
                    inline.or_else(|| words.next_if(|w| !w.starts_with('-')).cloned())
                }
            };
            s.apply(spec, &format!("--{name}"), value)?;
        } else if word.len() > 1 && word.starts_with('-') {
            let cluster: Vec<char> = word[1..].chars().collect();
            let mut k = 0;
            while k < cluster.len() {
                let c = cluster[k];
                k += 1;
                let shown = format!("-{c}");
                let spec = SPECS
                    .iter()
                    .find(|s| s.short == Some(c))
                    .ok_or_else(|| unknown(&shown))?;
                let glued: String = cluster[k..].iter().collect();
                let value = match spec.value {
                    Value::None => None,
                    Value::Required if !glued.is_empty() => Some(glued),
                    Value::Required => Some(words.next().ok_or_else(|| missing(&shown))?.clone()),
                    Value::Optional if !glued.is_empty() => Some(glued),
                    Value::Optional => words.next_if(|w| !w.starts_with('-')).cloned(),
                };
                if spec.value != Value::None {
                    k = cluster.len();
                }
                s.apply(spec, &shown, value)?;
            }
        } else {
            s.positional.push(word.clone());
        }
    }
    Ok(s)
}

/// Parses one ipvsadm command line (without the program name) and applies
/// ipvsadm's checks and defaults.
pub fn parse(args: &[String]) -> CliResult<Invocation> {
    let mut s = scan(args)?;
    let command = s.command.ok_or_else(CliError::try_help)?;
    let mut set = None;
    if command == Command::Set {
        if s.positional.len() < 3 {
            return Err(CliError::usage("--set option requires 3 timeout values"));
        }
        let rest: Vec<String> = s.positional.drain(..3).collect();
        set = Some((
            parse_timeout(&rest[0], 0)?,
            parse_timeout(&rest[1], 0)?,
            parse_timeout(&rest[2], 0)?,
        ));
    }
    if let Some(extra) = s.positional.first() {
        return Err(CliError::usage(format!("unexpected argument {extra}")));
    }
    check_options(command, s.options)?;

    let persistence = s.persistence.unwrap_or(0);
    if matches!(command, Command::AddService | Command::EditService) {
        let svc = s.service.expect("checked: required");
        if svc.port == 0 {
            if persistence == 0 {
                return Err(CliError::usage(
                    "Zero port specified for non-persistent service",
                ));
            }
            return Err(CliError::usage(
                "port-0 (all ports) services are not supported by lbctl's data plane",
            ));
        }
    }
    let forward = s.forward.unwrap_or(Forward::Dr);
    let real = s.real.map(|(addr, port)| {
        let svc_port = s.service.map_or(0, |svc| svc.port);
        // As ipvsadm: no port means the service's; DR and TUN cannot
        // change the port, so theirs is always the service's.
        let forced = matches!(command, Command::AddServer | Command::EditServer)
            && matches!(forward, Forward::Dr | Forward::Tun);
        let port = match port {
            Some(p) if !forced => p,
            _ => svc_port,
        };
        RealArg { addr, port }
    });
    Ok(Invocation {
        command,
        service: s.service,
        scheduler: s
            .scheduler
            .take()
            .unwrap_or_else(|| DEFAULT_SCHEDULER.to_string()),
        persistence,
        real,
        forward,
        weight: s.weight.unwrap_or(1),
        format: Format {
            numeric: s.has(Opt::Numeric),
            stats: s.has(Opt::Stats),
            rate: s.has(Opt::Rate),
            exact: s.has(Opt::Exact),
            nosort: s.has(Opt::NoSort),
        },
        connections: s.has(Opt::Connection),
        timeouts: s.has(Opt::Timeout),
        daemon: s.has(Opt::Daemon),
        set,
    })
}

/// ipvsadm's `generic_opt_check`, then its list-command conflicts.
fn check_options(command: Command, options: u32) -> CliResult<()> {
    let Some(row) = command.legal_options() else {
        return Ok(());
    };
    let mut exclusive: Option<Opt> = None;
    for (opt, &rule) in Opt::ALL.iter().zip(row.iter()) {
        let given = options & opt.bit() != 0;
        match (given, rule) {
            (false, b'+') => {
                return Err(CliError::usage(format!(
                    "You need to supply the '{}' option for the '{}' command",
                    opt.name(),
                    command.name()
                )))
            }
            (true, b'x') => {
                return Err(CliError::usage(format!(
                    "Illegal '{}' option with the '{}' command",
                    opt.name(),
                    command.name()
                )))
            }
            (true, b'1') => match exclusive {
                None => exclusive = Some(*opt),
                Some(first) => {
                    return Err(CliError::usage(format!(
                        "The option '{}' conflicts with the '{}' option in the '{}' command",
                        opt.name(),
                        first.name(),
                        command.name()
                    )))
                }
            },
            _ => {}
        }
    }
    let any = |opts: &[Opt]| opts.iter().any(|o| options & o.bit() != 0);
    if command == Command::List
        && any(&[Opt::Connection, Opt::Timeout, Opt::Daemon])
        && any(&[Opt::Stats, Opt::Rate])
    {
        return Err(CliError::usage("options conflicts in the list command"));
    }
    Ok(())
}

/// ipvsadm's `string_to_number`: a whole decimal number in [min, max].
fn string_to_number(s: &str, min: u32, max: u32) -> Option<u32> {
    let n: i64 = s.parse().ok()?;
    (min as i64..=max as i64).contains(&n).then_some(n as u32)
}

fn parse_timeout(s: &str, min: u32) -> CliResult<u32> {
    string_to_number(s, min, MAX_TIMEOUT)
        .ok_or_else(|| CliError::usage(format!("invalid timeout value `{s}' specified")))
}

/// `host[:port]` as ipvsadm's `parse_service` reads it: a dotted IPv4
/// address, and a port number or service name (from /etc/services).
/// All-digit input is refused (it would be a fwmark).
pub fn parse_host_port(s: &str, proto: Protocol) -> Option<(Ipv4Addr, Option<u16>)> {
    if s.is_empty() || s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let addr: Ipv4Addr = host.parse().ok()?;
    let port = match port {
        None => None,
        Some(p) => Some(
            string_to_number(p, 0, 65535)
                .map(|n| n as u16)
                .or_else(|| service_port(p, proto))?,
        ),
    };
    Some((addr, port))
}

/// getservbyname(3), as ipvsadm's `service_to_port`.
fn service_port(name: &str, proto: Protocol) -> Option<u16> {
    let name = std::ffi::CString::new(name).ok()?;
    let proto = std::ffi::CString::new(match proto {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    })
    .expect("no NUL");
    // SAFETY: both are valid C strings; the result points into libc's
    // static storage and is read at once.
    let entry = unsafe { libc::getservbyname(name.as_ptr(), proto.as_ptr()) };
    if entry.is_null() {
        return None;
    }
    // SAFETY: non-null entries from getservbyname are valid servents.
    Some(u16::from_be(unsafe { (*entry).s_port } as u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    fn ok(line: &str) -> Invocation {
        parse(&words(line)).unwrap_or_else(|e| panic!("{line}: {e:?}"))
    }

    fn err(line: &str) -> CliError {
        parse(&words(line)).expect_err(line)
    }

    #[test]
    fn add_service_takes_ipvsadm_defaults() {
        let inv = ok("-A -t 198.18.0.100:80");
        assert_eq!(inv.command, Command::AddService);
        assert_eq!(
            inv.service,
            Some(ServiceAddr::new(
                Ipv4Addr::new(198, 18, 0, 100),
                80,
                Protocol::Tcp
            ))
        );
        assert_eq!(inv.scheduler, "wlc");
        assert_eq!(inv.persistence, 0);
    }

    #[test]
    fn persistent_takes_an_optional_value() {
        assert_eq!(ok("-A -t 1.2.3.4:80 -p").persistence, 300);
        assert_eq!(ok("-A -t 1.2.3.4:80 -p 60 -s rr").persistence, 60);
        assert_eq!(ok("-A -t 1.2.3.4:80 -p -s rr").persistence, 300);
        assert_eq!(ok("-A -t 1.2.3.4:80 -p90").persistence, 90);
        assert_eq!(ok("-A -t 1.2.3.4:80 --persistent=120").persistence, 120);
        assert_eq!(
            err("-A -t 1.2.3.4:80 -p 0").message,
            "invalid timeout value `0' specified"
        );
    }

    #[test]
    fn short_flags_cluster_like_popt() {
        for line in ["-ln", "-Ln", "-nL", "-l -n"] {
            let inv = ok(line);
            assert_eq!(inv.command, Command::List, "{line}");
            assert!(inv.format.numeric, "{line}");
        }
        let inv = ok("-lnc");
        assert!(inv.connections && inv.format.numeric);
        let inv = ok("-a -t 1.2.3.4:80 -r 10.0.0.1 -mw3");
        assert_eq!(inv.forward, Forward::Nat);
        assert_eq!(inv.weight, 3);
    }

    #[test]
    fn real_server_port_follows_ipvsadm() {
        let inv = ok("-a -t 1.2.3.4:80 -r 10.0.0.1");
        assert_eq!(inv.real.unwrap().port, 80);
        assert_eq!(inv.forward, Forward::Dr);
        assert_eq!(inv.weight, 1);
        // DR and TUN cannot change the port.
        assert_eq!(
            ok("-a -t 1.2.3.4:80 -r 10.0.0.1:8080 -g")
                .real
                .unwrap()
                .port,
            80
        );
        assert_eq!(
            ok("-a -t 1.2.3.4:80 -r 10.0.0.1:8080 -i")
                .real
                .unwrap()
                .port,
            80
        );
        assert_eq!(
            ok("-a -t 1.2.3.4:80 -r 10.0.0.1:8080 -m")
                .real
                .unwrap()
                .port,
            8080
        );
        // -d keeps the port it is given.
        assert_eq!(
            ok("-d -t 1.2.3.4:80 -r 10.0.0.1:8080").real.unwrap().port,
            8080
        );
        assert_eq!(ok("-d -t 1.2.3.4:80 -r 10.0.0.1").real.unwrap().port, 80);
    }

    #[test]
    fn long_forms_work() {
        let inv = ok(
            "--add-server --tcp-service 1.2.3.4:80 --real-server 10.0.0.1:81 \
             --masquerading --weight 5",
        );
        assert_eq!(inv.command, Command::AddServer);
        assert_eq!(
            inv.real,
            Some(RealArg {
                addr: Ipv4Addr::new(10, 0, 0, 1),
                port: 81
            })
        );
        assert_eq!(inv.weight, 5);
        let inv = ok("--list --numeric --connection");
        assert!(inv.connections);
        let inv = ok("--udp-service=1.2.3.4:53 --add-service --scheduler=rr");
        assert_eq!(inv.service.unwrap().proto, Protocol::Udp);
        assert_eq!(inv.scheduler, "rr");
    }

    #[test]
    fn set_reads_three_timeouts() {
        assert_eq!(ok("--set 900 120 300").set, Some((900, 120, 300)));
        assert_eq!(ok("--set 0 0 60").set, Some((0, 0, 60)));
        assert_eq!(
            err("--set 1 2").message,
            "--set option requires 3 timeout values"
        );
        assert_eq!(
            err("--set 1 2 x").message,
            "invalid timeout value `x' specified"
        );
        assert_eq!(err("--set 1 2 3 4").message, "unexpected argument 4");
    }

    #[test]
    fn errors_read_like_ipvsadm() {
        let cases = [
            ("-A -t 1.2.3.4:80 -A", "multiple commands specified", 2),
            (
                "-A -s rr",
                "You need to supply the 'service-address' option for the 'add-service' command",
                2,
            ),
            (
                "-A -t 1.2.3.4:80 -w 2",
                "Illegal 'weight' option with the 'add-service' command",
                2,
            ),
            (
                "-a -t 1.2.3.4:80",
                "You need to supply the 'real-server' option for the 'add-server' command",
                2,
            ),
            (
                "-L -c --timeout",
                "The option 'timeout' conflicts with the 'connection' option in the 'list' command",
                2,
            ),
            ("-L -c --stats", "options conflicts in the list command", 2),
            (
                "-A -t 1.2.3.4",
                "Zero port specified for non-persistent service",
                2,
            ),
            (
                "-A -t 1.2.3.4.5:80",
                "illegal virtual server address[:port] specified",
                2,
            ),
            (
                "-A -t 1.2.3.4:99999",
                "illegal virtual server address[:port] specified",
                2,
            ),
            (
                "-a -t 1.2.3.4:80 -r nowhere",
                "illegal real server address[:port] specified",
                2,
            ),
            (
                "-a -t 1.2.3.4:80 -r 10.0.0.1 -w 70000",
                "illegal weight specified",
                2,
            ),
            (
                "-a -t 1.2.3.4:80 -r 10.0.0.1 -g -m",
                "multiple 'forwarding-method' options specified",
                2,
            ),
            ("-L extra", "unexpected argument extra", 2),
            (
                "-n",
                "Try `lbctl -h' or 'lbctl --help' for more information.",
                255,
            ),
            ("-L --bogus", "--bogus: unknown option", 255),
            ("-L -q", "-q: unknown option", 255),
            ("-A -t", "-t: missing argument", 255),
        ];
        for (line, message, code) in cases {
            let e = err(line);
            assert_eq!((e.message.as_str(), e.code), (message, code), "{line}");
        }
    }

    #[test]
    fn unsupported_ipvsadm_options_say_so() {
        let e = err("-A -t 1.2.3.4:80 -M 255.255.255.0");
        assert_eq!(e.code, 2);
        assert!(e.message.contains("'netmask'"), "{}", e.message);
    }

    #[test]
    fn service_names_resolve_like_ipvsadm() {
        // /etc/services may be absent in minimal images; check only when
        // libc knows the name.
        if let Some(p) = service_port("http", Protocol::Tcp) {
            assert_eq!(p, 80);
            assert_eq!(
                parse_host_port("1.2.3.4:http", Protocol::Tcp),
                Some((Ipv4Addr::new(1, 2, 3, 4), Some(80)))
            );
        }
        assert_eq!(parse_host_port("80", Protocol::Tcp), None);
    }
}
