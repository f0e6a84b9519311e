//! `cargo xtask demo`: the whole stack in one go. It brings the testbed
//! up, sends real redis-benchmark and ZooKeeper-client traffic from the
//! client namespace through the VIP in DR, TUN and NAT mode, shows the
//! ipvsadm-style tables after each, checks that a key written through the
//! VIP reads back through it and that every real server got its share,
//! then tears everything down, also on Ctrl-C.

use crate::testbed_cmd::{self, Mode, Testbed, REDIS_PORT, ZK_PORT};
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
    step(&format!("demo finished in {:.0?}", started.elapsed()));
    Ok(())
}
