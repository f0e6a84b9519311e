//! A handle to one namespace of a topology: run commands and code in it, start servers, look up
//! its interfaces.

use std::ffi::OsStr;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::cmd::{run_checked, run_with_input};
use crate::echo;
use crate::netns::{self, command_in, netns_path};
use crate::plan::{MacAddr, Role};
use crate::process::{ProcessTable, Spawned};

/// Timeout of the convenience network checks ([`Node::ping`], [`Node::tcp_echo`], ...).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// One namespace of a topology (a node such as `rs1`, or the switch `sw`).
pub struct Node {
    name: String,
    netns: String,
    role: Option<Role>,
    processes: Arc<ProcessTable>,
    log_dir: PathBuf,
}

/// What `ip -j link show` says about an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub ifindex: u32,
    pub mac: MacAddr,
    pub mtu: u32,
    /// The IFF_UP flag (administratively up).
    pub up: bool,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("netns", &self.netns)
            .finish_non_exhaustive()
    }
}

impl Node {
    pub(crate) fn new(
        name: &str,
        netns: String,
        role: Option<Role>,
        processes: Arc<ProcessTable>,
        log_dir: PathBuf,
    ) -> Node {
        Node {
            name: name.to_string(),
            netns,
            role,
            processes,
            log_dir,
        }
    }

    /// Short name: "rs1", "sw", ...
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace name, e.g. "lbt3fa9c-rs1".
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// `/run/netns/<netns>`.
    pub fn netns_path(&self) -> PathBuf {
        netns_path(&self.netns)
    }

    /// None for the switch namespace.
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// A command that runs `program` in this node (via nsenter, so /sys/fs/bpf stays visible).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        command_in(&self.netns, program)
    }

    /// Runs `args[0] args[1..]` in this node and returns its stdout; fails with its stderr on a
    /// non-zero exit.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        let (program, rest) = split_program(args)?;
        run_checked(self.command(program).args(rest))
            .with_context(|| format!("in node {}", self.name))
    }

    /// Runs several `ip` commands in one process (`ip -batch -`), one per line.
    pub fn ip_batch(&self, lines: &[String]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut cmd = self.command("ip");
        cmd.args(["-batch", "-"]);
        run_with_input(&mut cmd, &(lines.join("\n") + "\n"))
            .with_context(|| format!("in node {}", self.name))?;
        Ok(())
    }

    /// Starts a long-running process in this node. Its stdout and stderr go to a log file
    /// ([`Spawned::output`]); it is stopped and reaped at teardown at the latest.
    pub fn spawn(&self, args: &[&str]) -> Result<Spawned> {
        let (program, rest) = split_program(args)?;
        let mut cmd = self.command(program);
        cmd.args(rest);
        self.spawn_command(cmd)
    }

    /// Like [`Node::spawn`] for a command built with [`Node::command`] (to set env, cwd, ...).
    /// stdin is closed, stdout and stderr go to the log file.
    pub fn spawn_command(&self, mut cmd: Command) -> Result<Spawned> {
        let label = format!("{}: {}", self.name, crate::cmd::describe(&cmd));
        let log_path = self.next_log_path(program_of(&cmd));
        let log = File::create(&log_path)
            .with_context(|| format!("create log {}", log_path.display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {label}"))?;
        let pid = self.processes.add(child, label.clone());
        Ok(Spawned::new(pid, label, log_path, self.processes.clone()))
    }

    /// `<log_dir>/<node>-<program>-<n>.log`, n counting up so restarts keep earlier logs.
    fn next_log_path(&self, program: &OsStr) -> PathBuf {
        let program = Path::new(program)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "proc".into());
        (0u32..)
            .map(|n| {
                self.log_dir
                    .join(format!("{}-{program}-{n}.log", self.name))
            })
            .find(|p| !p.exists())
            .expect("an unused log name exists")
    }

    /// Runs `f` on a thread inside this node's namespace (see [`netns::in_netns`]).
    pub fn in_netns<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        netns::in_netns(&self.netns, f)
    }

    /// Sets a sysctl in this namespace, e.g. `set_sysctl("net.ipv4.ip_forward", "1")`.
    pub fn set_sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.set_sysctls(&[(key.to_string(), value.to_string())])
    }

    /// Sets several sysctls, in order, from one thread in this namespace.
    pub fn set_sysctls(&self, pairs: &[(String, String)]) -> Result<()> {
        self.in_netns(|| {
            pairs
                .iter()
                .try_for_each(|(key, value)| netns::write_sysctl(key, value))
        })?
        .with_context(|| format!("in node {}", self.name))
    }

    pub fn sysctl(&self, key: &str) -> Result<String> {
        self.in_netns(|| netns::read_sysctl(key))?
    }

    /// Index, MAC, MTU and state of `iface` in this node.
    pub fn link(&self, iface: &str) -> Result<LinkInfo> {
        let json = self.ip_json(&["link", "show", "dev", iface])?;
        let link = json
            .get(0)
            .ok_or_else(|| anyhow!("no interface {iface} in node {}", self.name))?;
        parse_link(link).with_context(|| format!("ip -j link show {iface} in {}", self.name))
    }

    pub fn mac(&self, iface: &str) -> Result<MacAddr> {
        Ok(self.link(iface)?.mac)
    }

    pub fn ifindex(&self, iface: &str) -> Result<u32> {
        Ok(self.link(iface)?.ifindex)
    }

    /// IPv4 addresses on `iface`.
    pub fn ipv4_addrs(&self, iface: &str) -> Result<Vec<Ipv4Addr>> {
        let json = self.ip_json(&["-4", "addr", "show", "dev", iface])?;
        let infos = json
            .get(0)
            .and_then(|l| l.get("addr_info"))
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow!("no interface {iface} in node {}", self.name))?;
        infos
            .iter()
            .map(|info| {
                info.get("local")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("address without \"local\": {info}"))?
                    .parse()
                    .context("bad address from ip -j")
            })
            .collect()
    }

    /// Names of all interfaces in this node.
    pub fn interfaces(&self) -> Result<Vec<String>> {
        let json = self.ip_json(&["link", "show"])?;
        let links = json
            .as_array()
            .ok_or_else(|| anyhow!("ip -j: not a list"))?;
        Ok(links
            .iter()
            .filter_map(|l| l.get("ifname").and_then(Value::as_str))
            .map(str::to_string)
            .collect())
    }

    fn ip_json(&self, args: &[&str]) -> Result<Value> {
        let out = self.run(&[&["ip", "-j"], args].concat())?;
        serde_json::from_str(&out).context("ip -j printed invalid JSON")
    }

    /// Readies the kernel's IP-in-IP receive path, for TUN real servers on hosts that have
    /// `ipip` (the VIP is already on `lo`): brings up `tunl0` (which loading the module creates in
    /// every namespace) with reverse-path filtering off. Fails with a clear error where the
    /// kernel lacks ipip, as on our test machines; use the `decap` XDP program there.
    pub fn enable_kernel_ipip(&self) -> Result<()> {
        if self.run(&["ip", "link", "show", "dev", "tunl0"]).is_err() {
            // Adding an ipip link loads the module, whose init creates tunl0 here; the add
            // itself then fails with "File exists", which is fine.
            let added = self.run(&["ip", "link", "add", "tunl0", "type", "ipip"]);
            if self.run(&["ip", "link", "show", "dev", "tunl0"]).is_err() {
                let why = added.err().map(|e| format!("{e:#}")).unwrap_or_default();
                bail!(
                    "node {}: the kernel has no ipip tunnel support (CONFIG_NET_IPIP off?); \
                     decapsulate with the decap XDP program instead. ({why})",
                    self.name
                );
            }
        }
        self.set_sysctl("net.ipv4.conf.tunl0.rp_filter", "0")?;
        self.run(&["ip", "link", "set", "tunl0", "up"])?;
        Ok(())
    }

    /// One ping with a one-second deadline; true if it was answered.
    pub fn ping(&self, addr: Ipv4Addr) -> bool {
        self.run(&["ping", "-n", "-q", "-c", "1", "-W", "1", &addr.to_string()])
            .is_ok()
    }

    /// Pings up to `tries` times (one second each), for the first packets that wait on ARP.
    pub fn ping_retry(&self, addr: Ipv4Addr, tries: u32) -> bool {
        (0..tries).any(|_| self.ping(addr))
    }

    /// Waits (at most `timeout`) until something accepts TCP connections on `addr`, as seen
    /// from this node.
    pub fn wait_for_tcp(&self, addr: SocketAddr, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        self.in_netns(|| loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let attempt = TcpStream::connect_timeout(&addr, left.max(Duration::from_millis(10)));
            match attempt {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    bail!("nothing listens on {addr} after {timeout:?}: {e}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        })?
        .with_context(|| format!("from node {}", self.name))
    }

    /// Sends `line` to a tb-echo server over TCP from this node; returns its answer
    /// (`<id> <line>`).
    pub fn tcp_echo(&self, addr: SocketAddr, line: &str) -> Result<String> {
        self.in_netns(|| echo::tcp_request(addr, line, CHECK_TIMEOUT))?
            .with_context(|| format!("TCP echo {addr} from node {}", self.name))
    }

    /// Same over UDP.
    pub fn udp_echo(&self, addr: SocketAddr, line: &str) -> Result<String> {
        self.in_netns(|| echo::udp_request(addr, line, CHECK_TIMEOUT))?
            .with_context(|| format!("UDP echo {addr} from node {}", self.name))
    }
}

/// The program a command runs: for our `nsenter --net=... -- PROGRAM ...` wrappers the third
/// argument, otherwise the command's own program.
fn program_of(cmd: &Command) -> &OsStr {
    match cmd.get_program() == "nsenter" {
        true => cmd.get_args().nth(2).unwrap_or(OsStr::new("nsenter")),
        false => cmd.get_program(),
    }
}

fn split_program<'a>(args: &'a [&'a str]) -> Result<(&'a str, &'a [&'a str])> {
    args.split_first()
        .map(|(p, rest)| (*p, rest))
        .ok_or_else(|| anyhow!("empty command line"))
}

fn parse_link(link: &Value) -> Result<LinkInfo> {
    let field = |name: &str| link.get(name).ok_or_else(|| anyhow!("no field {name:?}"));
    let number = |name: &str| -> Result<u32> {
        let n = field(name)?
            .as_u64()
            .ok_or_else(|| anyhow!("{name} not a number"))?;
        Ok(u32::try_from(n)?)
    };
    let mac = field("address")?
        .as_str()
        .ok_or_else(|| anyhow!("address not a string"))?
        .parse()?;
    let up = field("flags")?
        .as_array()
        .is_some_and(|flags| flags.iter().any(|f| f == "UP"));
    Ok(LinkInfo {
        ifindex: number("ifindex")?,
        mac,
        mtu: number("mtu")?,
        up,
    })
}
