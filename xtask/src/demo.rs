//! `cargo xtask demo`: the whole stack in one go. It brings the testbed
//! up, sends real redis-benchmark and ZooKeeper-client traffic from the
//! client namespace through the VIP in DR, TUN and NAT mode, shows the
//! ipvsadm-style tables after each, checks that a key written through the
//! VIP reads back through it and that every real server got its share,
//! then tears everything down, also on Ctrl-C.

use crate::testbed_cmd::{self, Mode, Testbed, PREFIX, REDIS_PORT, ZK_PORT};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use testbed::{Node, Role, VIP};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    Ok(())
}

/// Tears the testbed down when the demo ends, however it ends.
struct TeardownGuard;

impl Drop for TeardownGuard {
    fn drop(&mut self) {
        step("tearing the testbed down");
        if let Err(e) = testbed_cmd::down() {
            eprintln!("teardown: {e:#}");
        }
    }
}

fn step(what: &str) {
    println!("\n\x1b[1m==> {what}\x1b[0m");
}

/// Runs a shell line in `node` and returns its output; fails on non-zero.
fn sh(node: &Node, line: &str) -> Result<String> {
    let out = node.command("sh").args(["-c", line]).output()?;
    check_interrupted()?;
    if !out.status.success() {
        bail!(
            "`{line}` in {} failed: {}",
            node.name(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// kazoo sessions through the VIP, each on its own TCP connection, so the
/// scheduler spreads them.
const KAZOO_TRAFFIC: &str = r#"
import sys
from kazoo.client import KazooClient
vip, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    zk = KazooClient(hosts=vip, timeout=5)
    zk.start(timeout=5)
    path = "/demo-%s-%d" % (tag, i)
    zk.create(path, b"through the VIP", ephemeral=True)
    data, stat = zk.get(path)
    assert data == b"through the VIP", data
    zk.stop(); zk.close()
print("zookeeper: %d kazoo sessions created and read a znode through %s" % (n, vip))
"#;

fn traffic(tb: &Testbed, mode: Mode) -> Result<()> {
    let client = tb.topo.node(Role::Client);
    let lb1 = tb.topo.node(Role::Lb1);
    println!("client -> {VIP}:{REDIS_PORT}: redis-benchmark -q -n 20000 -c 50 -t set,get");
    let bench = sh(
        client,
        &format!("redis-benchmark -h {VIP} -p {REDIS_PORT} -q -n 20000 -c 50 -t set,get"),
    )?;
    // Keep the final figures, not the live progress redrawn with '\r'.
    for line in bench.lines() {
        println!("  {}", line.rsplit('\r').next().unwrap_or(line).trim());
    }
    let key = format!("demo:{mode:?}").to_lowercase();
    let answers = sh(
        client,
        &format!("printf 'SET {key} hello\\nGET {key}\\n' | redis-cli -h {VIP} -p {REDIS_PORT}"),
    )?;
    if answers.split_whitespace().collect::<Vec<_>>() != ["OK", "hello"] {
        bail!("SET/GET through the VIP answered {answers:?}");
    }
    println!("redis-cli through the VIP: SET {key} hello -> OK, GET {key} -> hello");
    let tag = format!("{mode:?}").to_lowercase();
    print!(
        "{}",
        sh(
            client,
            &format!("timeout 60 python3 -c '{KAZOO_TRAFFIC}' {VIP}:{ZK_PORT} {tag} 10")
        )?
    );
    println!("\n$ lbctl -L -n --stats");
    print!("{}", tb.lbctl(lb1, &["-L", "-n", "--stats"])?);
    println!("\n$ lbctl -L -n -c   (first lines)");
    for line in tb.lbctl(lb1, &["-L", "-n", "-c"])?.lines().take(8) {
        println!("{line}");
    }
    shares(tb, mode)
}

/// Each real server's own counters: every one must have served clients.
fn shares(tb: &Testbed, mode: Mode) -> Result<()> {
    let client = tb.topo.node(Role::Client);
    println!("\nper real server (from the servers' own INFO and mntr):");
    for (role, _) in mode.reals() {
        let ip = role.ip();
        let info = sh(
            client,
            &format!("redis-cli -h {ip} -p {REDIS_PORT} info stats"),
        )?;
        let conns = field(&info, "total_connections_received:")?;
        let mntr = sh(client, &format!("echo mntr | nc -q 2 {ip} {ZK_PORT}"))?;
        let packets = field(&mntr, "zk_packets_received\t").unwrap_or_else(|_| "?".into());
        println!(
            "  {:4} {ip:14} redis connections {conns:>5}   zookeeper packets {packets:>6}",
            role.name()
        );
        if conns.parse::<u64>().unwrap_or(0) < 2 {
            bail!("{} got no share of the traffic", role.name());
        }
    }
    Ok(())
}

fn field(text: &str, name: &str) -> Result<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
        .with_context(|| format!("no {name} in {text:?}"))
}

pub fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    step("setup and build");
    crate::setup::run(root)?;
    let bin = testbed_cmd::build_binaries(root)?;
    // SAFETY: the handler only stores to an atomic.
    unsafe { libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t) };
    if !testbed::list_namespaces_with_prefix(&format!("{}-", testbed_cmd::PREFIX))?.is_empty() {
        bail!("a testbed is already up; remove it first with `cargo xtask testbed down`");
    }
    step("bringing the testbed up (namespaces, XDP programs, kv-server and coord-server on rs1..rs6)");
    let tb = Testbed::up(bin, Mode::Dr);
    let _guard = TeardownGuard;
    let tb = tb?;
    for mode in [Mode::Dr, Mode::Tun, Mode::Nat] {
        step(&format!(
            "{mode:?} mode: real servers {:?}",
            mode.reals()
                .iter()
                .map(|(r, _)| r.name())
                .collect::<Vec<_>>()
        ));
        tb.configure(mode)?;
        print!("{}", tb.lbctl(tb.topo.node(Role::Lb1), &["-L", "-n"])?);
        traffic(&tb, mode)?;
        check_interrupted()?;
    }
    keepalived_phase(&tb)?;
    step(&format!("demo finished in {:.0?}", started.elapsed()));
    Ok(())
}

/// A redis-cli process in the client namespace, fed one command at a time
/// through its stdin: one long-lived session through the VIP.
struct RedisSession {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
}

impl RedisSession {
    fn open(client: &Node) -> Result<RedisSession> {
        use std::process::Stdio;
        let mut child = client
            .command("redis-cli")
            .args(["-h", &VIP.to_string(), "-p", &REDIS_PORT.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        Ok(RedisSession {
            child,
            stdin,
            lines,
        })
    }

    fn ask(&mut self, command: &str) -> Result<String> {
        use std::io::Write;
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        self.lines
            .recv_timeout(std::time::Duration::from_secs(10))
            .with_context(|| format!("no answer to `{command}` within 10 s"))
    }
}

impl Drop for RedisSession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has_vip(node: &Node) -> bool {
    node.ipv4_addrs("eth0")
        .map(|a| a.contains(&VIP))
        .unwrap_or(false)
}

/// Polls `cond` every 20 ms for at most `limit`; how long it took.
fn wait_until(
    limit: std::time::Duration,
    mut cond: impl FnMut() -> bool,
) -> Option<std::time::Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

/// lbd's YAML for one director: VRRP on eth0, conn sync to the peer, and
/// the Redis service over rs1 and rs2 in DR mode with redis_ping checks.
fn lbd_yaml(me: Role, peer: Role, priority: u8) -> String {
    format!(
        "global_defs:
  instance: {PREFIX}-lbd-{me}
  conn_sync: {{ peers: [{peer_ip}], interval: 0.1 }}
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    priority: {priority}
    advert_int: 0.1
    virtual_ipaddress: [\"{VIP}/24\"]
virtual_servers:
  - vip: {VIP}
    port: {REDIS_PORT}
    protocol: tcp
    lb_algo: rr
    lb_kind: dr
    delay_loop: 1
    real_servers:
      - {{ ip: {rs1}, port: {REDIS_PORT}, weight: 1, redis_ping: {{ connect_timeout: 1, retry: 1, delay_before_retry: 1 }} }}
      - {{ ip: {rs2}, port: {REDIS_PORT}, weight: 1, redis_ping: {{ connect_timeout: 1, retry: 1, delay_before_retry: 1 }} }}
",
        me = me.name(),
        peer_ip = peer.ip(),
        rs1 = Role::Rs1.ip(),
        rs2 = Role::Rs2.ip(),
    )
}

/// The weight lbd's table gives `role` on `director`, from `lbctl -L -n`.
fn listed_weight(tb: &Testbed, director: &Node, instance: &str, role: Role) -> Option<String> {
    let mut cmd = director.command(tb.bin.join("lbctl"));
    cmd.env("LBCTL_INSTANCE", instance).args(["-L", "-n"]);
    let out = cmd.output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.contains(&format!("{}:{REDIS_PORT}", role.ip())))
        .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
}

fn lbctl_in(tb: &Testbed, director: &Node, instance: &str, args: &[&str]) -> Result<String> {
    let out = director
        .command(tb.bin.join("lbctl"))
        .env("LBCTL_INSTANCE", instance)
        .args(args)
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// keepalived's half: lbd on lb1 and lb2 from YAML, a health-check removal
/// and a failover that a redis-cli session survives.
fn keepalived_phase(tb: &Testbed) -> Result<()> {
    let (lb1, lb2, client) = (
        tb.topo.node(Role::Lb1),
        tb.topo.node(Role::Lb2),
        tb.topo.node(Role::Client),
    );
    step("lbd on lb1 (priority 150) and lb2 (priority 100): VRRPv3, redis_ping checks, conn sync");
    // Hand lb1 over from lbctl to lbd.
    tb.lbctl(lb1, &["-C"])?;
    for leg in ["eth0", "eth1"] {
        tb.lbctl(lb1, &["detach", leg])?;
    }
    lb1.run(&["ip", "addr", "del", &format!("{VIP}/32"), "dev", "eth0"])?;
    let lbd = tb.bin.join("lbd").display().to_string();
    let mut daemons = Vec::new();
    for (role, peer, priority) in [(Role::Lb1, Role::Lb2, 150), (Role::Lb2, Role::Lb1, 100)] {
        let node = tb.topo.node(role);
        let yaml = lbd_yaml(role, peer, priority);
        let path = tb.topo.log_dir().join(format!("{}-lbd.yaml", node.name()));
        std::fs::write(&path, &yaml)?;
        if role == Role::Lb1 {
            println!("lb1's {}:\n{yaml}", path.display());
        }
        daemons.push(node.spawn(&[&lbd, "--config", &path.display().to_string()])?);
    }
    let elected = wait_until(std::time::Duration::from_secs(10), || {
        has_vip(lb1) && !has_vip(lb2)
    });
    if elected.is_none() {
        bail!(
            "lb1 did not become MASTER:\n{}",
            daemons[0].output().unwrap_or_default()
        );
    }
    daemons[1].wait_for_output("balancer attached", std::time::Duration::from_secs(10))?;
    let (i1, i2) = (
        format!("{}-lbd-lb1", testbed_cmd::PREFIX),
        format!("{}-lbd-lb2", testbed_cmd::PREFIX),
    );
    println!("lb1 is MASTER and holds {VIP}; lb2 is BACKUP with its balancer attached\n\n$ lbctl -L -n   (on lb1)");
    print!("{}", lbctl_in(tb, lb1, &i1, &["-L", "-n"])?);

    step("health check: kv-server on rs2 stops, lbd drains it (weight 0), then it comes back");
    let rs2 = tb.topo.node(Role::Rs2);
    let listeners = rs2.run(&["ss", "-Hltnp", &format!("sport = :{REDIS_PORT}")])?;
    let pid = listeners
        .split("pid=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .context("kv-server's pid on rs2")?
        .to_string();
    rs2.run(&["kill", &pid])?;
    let drained = wait_until(std::time::Duration::from_secs(15), || {
        listed_weight(tb, lb1, &i1, Role::Rs2).as_deref() == Some("0")
    });
    let took = drained.context("lbd did not drain rs2 within 15 s")?;
    println!("rs2 drained {took:.1?} after kv-server stopped\n\n$ lbctl -L -n   (on lb1)");
    print!("{}", lbctl_in(tb, lb1, &i1, &["-L", "-n"])?);
    let _kv = tb.start_kv(rs2)?;
    let back = wait_until(std::time::Duration::from_secs(15), || {
        listed_weight(tb, lb1, &i1, Role::Rs2).as_deref() == Some("1")
    });
    println!(
        "kv-server restarted on rs2: back at weight 1 after {:.1?}",
        back.context("rs2 did not come back")?
    );
    for line in daemons[0]
        .output()?
        .lines()
        .filter(|l| l.contains(&Role::Rs2.ip().to_string()))
    {
        println!("  lbd: {line}");
    }

    step("failover: kill -9 lbd on lb1 while a redis-cli session is open through the VIP");
    let mut session = RedisSession::open(client)?;
    println!(
        "redis-cli> SET demo:failover before  -> {}",
        session.ask("SET demo:failover before")?
    );
    println!(
        "redis-cli> CLIENT SETNAME demo       -> {}",
        session.ask("CLIENT SETNAME demo")?
    );
    std::thread::sleep(std::time::Duration::from_millis(500)); // a sync round
    lb1.run(&["kill", "-9", &daemons[0].pid().to_string()])?;
    let takeover = wait_until(std::time::Duration::from_secs(10), || {
        has_vip(lb2) && !has_vip(lb1)
    })
    .context("lb2 did not take the VIP over alone")?;
    println!("lb2 holds {VIP} {takeover:.0?} after the kill; lb1 no longer does (no split brain)");
    let answer = session.ask("GET demo:failover")?;
    println!("redis-cli> GET demo:failover          -> {answer}   (same session, same server)");
    if answer != "before" {
        bail!("the session did not survive the failover: GET answered {answer:?}");
    }
    println!("\n$ lbctl -L -n -c   (on lb2, first lines)");
    for line in lbctl_in(tb, lb2, &i2, &["-L", "-n", "-c"])?.lines().take(6) {
        println!("{line}");
    }
    Ok(())
}
