//! The lbd YAML configuration: keepalived.conf's concepts and defaults
//! (DESIGN.md §5). This is the only module that knows serde_yaml, so a
//! maintained fork can replace it here alone.
//!
//! Syntax and type errors (unknown keys, bad addresses, out-of-range
//! numbers) come from serde_yaml with their line and column. Semantic
//! errors that span several nodes (duplicate VIPs, duplicate services)
//! are located by re-scanning the text, since serde_yaml 0.9 keeps no
//! spans on its values.

use crate::services::{Protocol, ServiceAddr};
use crate::{Forward, Scheduler};
use serde::Deserialize;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

/// A configuration error, printed as `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based; 0 when the error has no place in the file (unreadable file).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for ConfigError {}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub global_defs: GlobalDefs,
    #[serde(default)]
    pub vrrp_instances: Vec<VrrpInstance>,
    #[serde(default)]
    pub virtual_servers: Vec<VirtualServer>,
}

/// Daemon-wide settings (keepalived's `global_defs`, plus the data plane's).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalDefs {
    /// keepalived's router_id: a name for logs.
    pub router_id: Option<String>,
    /// The balancer's pin folder name: maps under /sys/fs/bpf/<instance>/.
    pub instance: String,
    /// XDP attach mode: `native` or `skb`.
    pub xdp_mode: XdpModeName,
    /// Interfaces the balancer is attached to on MASTER. Empty: each VRRP
    /// instance's own interface.
    pub attach_interfaces: Vec<String>,
    /// Sync the connection table to the backup (IPVS' sync daemon).
    pub conn_sync: Option<ConnSync>,
}

/// Where the MASTER sends its connections, and how often.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnSync {
    /// The other directors' addresses.
    pub peers: Vec<Ipv4Addr>,
    /// UDP port, IPVS' 8848 by default.
    #[serde(default = "sync_port")]
    pub port: u16,
    /// Seconds between rounds (default 0.2).
    #[serde(default = "fifth_second")]
    pub interval: Seconds,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            instance: "lbd".into(),
            xdp_mode: XdpModeName::Native,
            attach_interfaces: Vec::new(),
            conn_sync: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum XdpModeName {
    Native,
    Skb,
}

/// keepalived's `state`: only a hint, as in keepalived; the election decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    #[serde(alias = "master")]
    Master,
    #[serde(alias = "backup")]
    Backup,
}

/// One `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpInstance {
    /// Name for logs and notify scripts; default `VI_<vrid>`.
    pub name: Option<String>,
    pub state: Option<InitialState>,
    pub interface: String,
    pub virtual_router_id: RouterId,
    #[serde(default)]
    pub priority: Priority,
    /// Seconds, resolution 0.01 (VRRPv3 centiseconds). Default 1.
    #[serde(default)]
    pub advert_int: AdvertInt,
    /// Default true, as in keepalived.
    #[serde(default = "yes")]
    pub preempt: bool,
    /// keepalived's `nopreempt`; wins over `preempt`.
    #[serde(default)]
    pub nopreempt: bool,
    /// Seconds after start during which a higher priority does not preempt.
    #[serde(default)]
    pub preempt_delay: Seconds,
    pub virtual_ipaddress: Vec<Cidr>,
    /// Send adverts to these peers by unicast instead of 224.0.0.18.
    #[serde(default)]
    pub unicast_peers: Vec<Ipv4Addr>,
    /// Source of our adverts; default the interface's first IPv4 address.
    pub unicast_src_ip: Option<Ipv4Addr>,
    /// Gratuitous ARPs sent on becoming MASTER (keepalived default 5).
    #[serde(default = "five")]
    pub garp_master_repeat: u32,
    /// Seconds after becoming MASTER before a second round of gratuitous
    /// ARPs (keepalived default 5); 0 = none.
    #[serde(default = "five_seconds")]
    pub garp_master_delay: Seconds,
    /// Seconds between repeated gratuitous ARP rounds while MASTER; 0 = off.
    #[serde(default)]
    pub garp_master_refresh: Seconds,
    pub notify_master: Option<String>,
    pub notify_backup: Option<String>,
    pub notify_fault: Option<String>,
    /// Run on every transition with `INSTANCE <name> <STATE> <priority>`.
    pub notify: Option<String>,
}

impl VrrpInstance {
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("VI_{}", self.virtual_router_id.0))
    }

    pub fn preempts(&self) -> bool {
        self.preempt && !self.nopreempt
    }
}

/// One `virtual_server`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualServer {
    pub vip: Ipv4Addr,
    pub port: Port,
    #[serde(default)]
    pub protocol: ProtocolName,
    /// Default `wlc`, as ipvsadm.
    #[serde(default)]
    pub lb_algo: LbAlgo,
    /// Default `nat`, as keepalived.
    #[serde(default)]
    pub lb_kind: LbKind,
    /// Seconds; 0 = no persistence.
    #[serde(default)]
    pub persistence_timeout: u32,
    /// Seconds between health checks (keepalived default 60).
    #[serde(default = "sixty_seconds")]
    pub delay_loop: Seconds,
    /// A failed real server stays listed with weight 0 (draining: its
    /// established flows keep going) instead of being removed. Default
    /// true: unlike keepalived, since draining never breaks a flow.
    #[serde(default = "yes")]
    pub inhibit_on_failure: bool,
    /// Used when no real server is up.
    pub sorry_server: Option<SorryServer>,
    #[serde(default)]
    pub real_servers: Vec<RealServer>,
}

impl VirtualServer {
    pub fn addr(&self) -> ServiceAddr {
        ServiceAddr::new(self.vip, self.port.0, self.protocol.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SorryServer {
    pub ip: Ipv4Addr,
    pub port: Port,
}

/// One `real_server` with at most one health check (none: always up).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealServer {
    pub ip: Ipv4Addr,
    /// Default: the virtual server's port.
    pub port: Option<Port>,
    #[serde(default = "one")]
    pub weight: u32,
    /// Overrides the virtual server's setting.
    pub inhibit_on_failure: Option<bool>,
    pub tcp_check: Option<CheckParams>,
    pub http_get: Option<HttpGet>,
    pub redis_ping: Option<CheckParams>,
    pub zk_ruok: Option<CheckParams>,
}

/// Which application-level check, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum HealthCheck {
    Tcp(CheckParams),
    Http(HttpGet),
    RedisPing(CheckParams),
    ZkRuok(CheckParams),
}

impl HealthCheck {
    pub fn params(&self) -> &CheckParams {
        match self {
            HealthCheck::Tcp(p) | HealthCheck::RedisPing(p) | HealthCheck::ZkRuok(p) => p,
            HealthCheck::Http(h) => &h.params,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            HealthCheck::Tcp(_) => "tcp_check",
            HealthCheck::Http(_) => "http_get",
            HealthCheck::RedisPing(_) => "redis_ping",
            HealthCheck::ZkRuok(_) => "zk_ruok",
        }
    }
}

impl RealServer {
    /// The configured check; `validate` guarantees there is at most one.
    pub fn check(&self) -> Option<HealthCheck> {
        self.checks().into_iter().next()
    }

    fn checks(&self) -> Vec<HealthCheck> {
        let mut all = Vec::new();
        if let Some(p) = &self.tcp_check {
            all.push(HealthCheck::Tcp(p.clone()));
        }
        if let Some(h) = &self.http_get {
            all.push(HealthCheck::Http(h.clone()));
        }
        if let Some(p) = &self.redis_ping {
            all.push(HealthCheck::RedisPing(p.clone()));
        }
        if let Some(p) = &self.zk_ruok {
            all.push(HealthCheck::ZkRuok(p.clone()));
        }
        all
    }

    pub fn port_or(&self, vs_port: u16) -> u16 {
        self.port.map(|p| p.0).unwrap_or(vs_port)
    }
}

/// The parameters every check shares (keepalived's defaults).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckParams {
    /// Seconds (keepalived default 5).
    #[serde(default = "five_seconds")]
    pub connect_timeout: Seconds,
    /// Failures in a row before the server is marked down (keepalived's
    /// `retry` / `nb_get_retry`, default 1).
    #[serde(default = "one", alias = "nb_get_retry")]
    pub retry: u32,
    /// Seconds between the attempts of a failing server (default 1).
    #[serde(default = "one_second")]
    pub delay_before_retry: Seconds,
    /// Overrides the virtual server's delay_loop.
    pub delay_loop: Option<Seconds>,
    /// Check this port instead of the real server's.
    pub connect_port: Option<Port>,
}

impl Default for CheckParams {
    fn default() -> Self {
        CheckParams {
            connect_timeout: five_seconds(),
            retry: 1,
            delay_before_retry: one_second(),
            delay_loop: None,
            connect_port: None,
        }
    }
}

/// keepalived's HTTP_GET with one url.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpGet {
    #[serde(default = "slash")]
    pub path: String,
    #[serde(default = "two_hundred")]
    pub status_code: u16,
    /// md5 of the body in hex, as keepalived's genhash prints it.
    pub digest: Option<Digest>,
    #[serde(flatten)]
    pub params: CheckParams,
}

/// Seconds as a float, kept as a Duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "f64")]
pub struct Seconds(pub Duration);

impl TryFrom<f64> for Seconds {
    type Error = String;
    fn try_from(s: f64) -> Result<Self, String> {
        if !s.is_finite() || !(0.0..=86_400.0).contains(&s) {
            return Err(format!("{s} is not a duration in seconds (0 to 86400)"));
        }
        Ok(Seconds(Duration::from_secs_f64(s)))
    }
}

/// The VRRP advertisement interval: 0.01 s to 40.95 s (12 bits of
/// centiseconds in VRRPv3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "f64")]
pub struct AdvertInt {
    pub centis: u16,
}

impl Default for AdvertInt {
    fn default() -> Self {
        AdvertInt { centis: 100 }
    }
}

impl AdvertInt {
    pub fn duration(self) -> Duration {
        Duration::from_millis(self.centis as u64 * 10)
    }
}

impl TryFrom<f64> for AdvertInt {
    type Error = String;
    fn try_from(s: f64) -> Result<Self, String> {
        let centis = (s * 100.0).round();
        if !s.is_finite() || !(1.0..=4095.0).contains(&centis) {
            return Err(format!(
                "advert_int {s} is out of range (0.01 to 40.95 seconds)"
            ));
        }
        Ok(AdvertInt {
            centis: centis as u16,
        })
    }
}

macro_rules! ranged_u8 {
    ($name:ident, $what:literal, $min:literal, $max:literal, $default:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
        #[serde(try_from = "i64")]
        pub struct $name(pub u8);

        impl Default for $name {
            fn default() -> Self {
                $name($default)
            }
        }

        impl TryFrom<i64> for $name {
            type Error = String;
            fn try_from(v: i64) -> Result<Self, String> {
                if ($min..=$max).contains(&v) {
                    Ok($name(v as u8))
                } else {
                    Err(format!(
                        concat!($what, " {} is out of range ({} to {})"),
                        v, $min, $max
                    ))
                }
            }
        }
    };
}

ranged_u8!(RouterId, "virtual_router_id", 1, 255, 1);
ranged_u8!(Priority, "priority", 1, 255, 100);

/// A TCP/UDP port, 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Port(pub u16);

impl TryFrom<i64> for Port {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        if (1..=65535).contains(&v) {
            Ok(Port(v as u16))
        } else {
            Err(format!("port {v} is out of range (1 to 65535)"))
        }
    }
}

/// `A.B.C.D/len` (len defaults to 32, as keepalived does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

impl TryFrom<String> for Cidr {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bad = || format!("`{s}` is not an IPv4 address with an optional /prefix");
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().map_err(|_| bad())?),
            None => (s.as_str(), 32),
        };
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        if len > 32 {
            return Err(bad());
        }
        Ok(Cidr {
            addr,
            prefix_len: len,
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// An md5 digest in hex (32 digits, any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Digest(pub [u8; 16]);

impl TryFrom<String> for Digest {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bad = || format!("digest `{s}` is not 32 hex digits (an md5 sum)");
        if s.len() != 32 || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Digest(out))
    }
}

/// `tcp` or `udp` (any case, as keepalived's `protocol TCP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ProtocolName(pub Protocol);

impl Default for ProtocolName {
    fn default() -> Self {
        ProtocolName(Protocol::Tcp)
    }
}

impl TryFrom<String> for ProtocolName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(ProtocolName(Protocol::Tcp)),
            "udp" => Ok(ProtocolName(Protocol::Udp)),
            _ => Err(format!("unknown protocol `{s}` (tcp or udp)")),
        }
    }
}

/// A scheduler name as ipvsadm spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct LbAlgo(pub Scheduler);

impl Default for LbAlgo {
    fn default() -> Self {
        LbAlgo(Scheduler::Wlc)
    }
}

impl TryFrom<String> for LbAlgo {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        Scheduler::ALL
            .into_iter()
            .find(|sched| sched.name() == lower)
            .map(LbAlgo)
            .ok_or_else(|| format!("unknown lb_algo `{s}` (rr, wrr, lc, wlc, sh, dh or mh)"))
    }
}

/// `dr`, `nat` or `tun` (any case, as keepalived's `lb_kind DR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct LbKind(pub Forward);

impl Default for LbKind {
    fn default() -> Self {
        LbKind(Forward::Nat)
    }
}

impl TryFrom<String> for LbKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "dr" => Ok(LbKind(Forward::Dr)),
            "nat" => Ok(LbKind(Forward::Nat)),
            "tun" => Ok(LbKind(Forward::Tun)),
            _ => Err(format!("unknown lb_kind `{s}` (dr, nat or tun)")),
        }
    }
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn five() -> u32 {
    5
}
fn one_second() -> Seconds {
    Seconds(Duration::from_secs(1))
}
fn five_seconds() -> Seconds {
    Seconds(Duration::from_secs(5))
}
fn sixty_seconds() -> Seconds {
    Seconds(Duration::from_secs(60))
}
fn sync_port() -> u16 {
    8848
}
fn fifth_second() -> Seconds {
    Seconds(Duration::from_millis(200))
}
fn slash() -> String {
    "/".into()
}
fn two_hundred() -> u16 {
    200
}

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(&file, &text)
    }

    /// Parses and validates `text`; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
        let config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| yaml_error(file, text, &e))?
        };
        config.validate().map_err(|(message, place)| {
            let (line, column) = place.locate(text);
            ConfigError {
                file: file.to_string(),
                line,
                column,
                message,
            }
        })?;
        Ok(config)
    }

    /// Checks what spans several nodes. Errors carry where to find the
    /// offending node in the text.
    fn validate(&self) -> Result<(), (String, Place)> {
        let mut vips: Vec<Ipv4Addr> = Vec::new();
        let mut vrids: Vec<(String, u8)> = Vec::new();
        for vi in &self.vrrp_instances {
            let name = vi.display_name();
            if vi.interface.is_empty() {
                return Err((
                    format!("{name}: interface is empty"),
                    Place::key("interface", 0),
                ));
            }
            let key = (vi.interface.clone(), vi.virtual_router_id.0);
            if vrids.contains(&key) {
                let nth = count(&vrids, |k| k.1 == key.1);
                return Err((
                    format!(
                        "{name}: virtual_router_id {} is used twice on {}",
                        key.1, key.0
                    ),
                    Place::value("virtual_router_id", &key.1.to_string(), nth),
                ));
            }
            vrids.push(key);
            if vi.virtual_ipaddress.is_empty() {
                return Err((
                    format!("{name}: virtual_ipaddress is empty"),
                    Place::key("virtual_ipaddress", vrids.len() - 1),
                ));
            }
            for cidr in &vi.virtual_ipaddress {
                if vips.contains(&cidr.addr) {
                    return Err((
                        format!("duplicate VIP {}", cidr.addr),
                        Place::text(&cidr.addr.to_string(), 1),
                    ));
                }
                vips.push(cidr.addr);
            }
        }
        let mut services: Vec<ServiceAddr> = Vec::new();
        for (i, vs) in self.virtual_servers.iter().enumerate() {
            let addr = vs.addr();
            if services.contains(&addr) {
                let nth = count(&services, |a| a.vip == addr.vip);
                return Err((
                    format!(
                        "duplicate virtual server {}:{} {}",
                        addr.vip,
                        addr.port,
                        addr.proto.name()
                    ),
                    Place::value("vip", &addr.vip.to_string(), nth),
                ));
            }
            services.push(addr);
            let mut reals: Vec<(Ipv4Addr, u16)> = Vec::new();
            for rs in &vs.real_servers {
                let real = (rs.ip, rs.port_or(addr.port));
                if reals.contains(&real) {
                    let nth = count(&reals, |r| r.0 == real.0);
                    return Err((
                        format!(
                            "virtual server {}:{}: real server {}:{} is listed twice",
                            addr.vip, addr.port, real.0, real.1
                        ),
                        Place::value_after("vip", i, "ip", &real.0.to_string(), nth),
                    ));
                }
                reals.push(real);
                if rs.checks().len() > 1 {
                    return Err((
                        format!(
                            "real server {}: give one health check (tcp_check, http_get, redis_ping or zk_ruok), not {}",
                            rs.ip,
                            rs.checks().len()
                        ),
                        Place::value_after("vip", i, "ip", &rs.ip.to_string(), 0),
                    ));
                }
                if rs.check().is_some_and(|c| c.params().retry == 0) {
                    return Err((
                        format!("real server {}: retry must be at least 1", rs.ip),
                        Place::value_after("vip", i, "retry", "0", 0),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn count<T>(items: &[T], pred: impl Fn(&T) -> bool) -> usize {
    items.iter().filter(|x| pred(x)).count()
}

/// Where a semantic error points, found again in the text: the `nth`
/// (0-based) line holding `key:` (and `value`, when given), searched from
/// the `after_nth` line holding `after_key:`.
struct Place {
    after: Option<(&'static str, usize)>,
    key: Option<&'static str>,
    value: Option<String>,
    nth: usize,
}

impl Place {
    fn key(key: &'static str, nth: usize) -> Place {
        Place {
            after: None,
            key: Some(key),
            value: None,
            nth,
        }
    }
    fn value(key: &'static str, value: &str, nth: usize) -> Place {
        Place {
            after: None,
            key: Some(key),
            value: Some(value.into()),
            nth,
        }
    }
    fn text(value: &str, nth: usize) -> Place {
        Place {
            after: None,
            key: None,
            value: Some(value.into()),
            nth,
        }
    }
    fn value_after(
        after: &'static str,
        after_nth: usize,
        key: &'static str,
        value: &str,
        nth: usize,
    ) -> Place {
        Place {
            after: Some((after, after_nth)),
            key: Some(key),
            value: Some(value.into()),
            nth,
        }
    }

    /// (line, column), both 1-based; (0, 0) if not found.
    fn locate(&self, text: &str) -> (usize, usize) {
        let lines: Vec<&str> = text.lines().collect();
        let start = match self.after {
            None => 0,
            Some((key, nth)) => lines
                .iter()
                .enumerate()
                .filter(|(_, l)| holds_key(l, key))
                .nth(nth)
                .map(|(i, _)| i)
                .unwrap_or(0),
        };
        let hit = lines
            .iter()
            .enumerate()
            .skip(start)
            .filter(|(_, line)| {
                let code = line.split('#').next().unwrap_or("");
                self.key.is_none_or(|k| holds_key(code, k))
                    && self.value.as_deref().is_none_or(|v| holds_token(code, v))
            })
            .nth(self.nth);
        match hit {
            Some((i, line)) => {
                let col = self
                    .value
                    .as_deref()
                    .and_then(|v| line.find(v))
                    .or_else(|| self.key.and_then(|k| line.find(k)))
                    .unwrap_or(0);
                (i + 1, col + 1)
            }
            None => (0, 0),
        }
    }
}

fn holds_key(line: &str, key: &str) -> bool {
    let t = line.trim_start().trim_start_matches("- ").trim_start();
    t.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with(':'))
}

/// `value` appears in `line` as a whole token (not as part of 10.0.0.10).
fn holds_token(line: &str, value: &str) -> bool {
    let is_part = |c: char| c.is_ascii_alphanumeric() || c == '.';
    line.match_indices(value).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + value.len()..].chars().next();
        !before.is_some_and(is_part) && !after.is_some_and(is_part)
    })
}

fn yaml_error(file: &str, text: &str, e: &serde_yaml::Error) -> ConfigError {
    // serde_yaml appends " at line L column C"; we print the place first.
    let mut message = e.to_string();
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    let (line, column) = e
        .location()
        .map(|l| refine(text, l.line(), l.column(), &message))
        .unwrap_or((0, 0));
    ConfigError {
        file: file.to_string(),
        line,
        column,
        message,
    }
}

/// serde_yaml places a value's conversion error (priority 256, an unknown
/// lb_algo) at the start of the enclosing mapping. Our messages name the
/// key, so move to the first line from there on that holds a key the
/// message names.
fn refine(text: &str, line: usize, column: usize, message: &str) -> (usize, usize) {
    let words: Vec<&str> = message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    text.lines()
        .enumerate()
        .skip(line.saturating_sub(1))
        .take(40)
        .find_map(|(i, l)| {
            let key = l
                .trim_start()
                .trim_start_matches("- ")
                .split(':')
                .next()?
                .trim();
            let col = l.find(key)?;
            (l.contains(':') && words.contains(&key)).then_some((i + 1, col + 1))
        })
        .unwrap_or((line, column))
}
