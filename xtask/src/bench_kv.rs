//! `cargo xtask bench kv`: redis-benchmark (50 clients, 3-byte values)
//! against kv-server and redis-server 7.0.15 in the same run, with -P 1 and
//! -P 16, plus used_memory after `DEBUG POPULATE 1000000` on each.
//!
//! stdout gets exactly one line:
//! `kv: set_ratio=.. get_ratio=.. set_p16_ratio=.. get_p16_ratio=.. lrange100_ratio=.. mem_ratio=..`
//! The full table goes to stderr, with each server's CPU time per request.
//!
//! On a machine with two or more CPUs both servers run on CPU 1 and
//! redis-benchmark on CPU 0, the same for both, so that neither server's
//! figure depends on where the scheduler happened to put it.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TESTS: &str = "set,get,incr,lpush,sadd,hset,zadd,lrange_100";
/// The redis-benchmark test names we report, as its CSV prints them.
const ROWS: [(&str, &str); 8] = [
    ("SET", "SET"),
    ("GET", "GET"),
    ("INCR", "INCR"),
    ("LPUSH", "LPUSH"),
    ("SADD", "SADD"),
    ("HSET", "HSET"),
    ("ZADD", "ZADD"),
    ("LRANGE_100", "LRANGE_100 (first 100 elements)"),
];
/// Each (server, pipeline) pair runs this many times; the best run counts,
/// which filters out noise from other processes on a 2-core machine.
const ROUNDS: usize = 3;

/// A server process that is killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `taskset -c <cpu>` in front of a command when the machine has a spare CPU.
fn pinned(program: &Path, cpu: usize) -> Command {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let has_taskset = Path::new("/usr/bin/taskset").exists();
    if cpus >= 2 && has_taskset {
        let mut cmd = Command::new("taskset");
        cmd.arg("-c").arg(cpu.to_string()).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

const SERVER_CPU: usize = 1;
const CLIENT_CPU: usize = 0;

/// CPU time (user + system) a process has used, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| -> u64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0) };
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name.
    Ok(field(11) + field(12))
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn start(program: &Path, args: &[String], port: u16) -> Result<Proc> {
    let child = pinned(program, SERVER_CPU)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let proc_ = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("{} did not listen on {port}", program.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(proc_)
}

fn cli(port: u16, args: &[&str]) -> Result<String> {
    let out = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .context("cannot run redis-cli")?;
    if !out.status.success() {
        bail!("redis-cli {args:?} failed");
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Requests per second for each test, from redis-benchmark's CSV output.
fn benchmark(port: u16, pipeline: u32, requests: u32) -> Result<BTreeMap<String, f64>> {
    let out = pinned(Path::new("redis-benchmark"), CLIENT_CPU)
        .args([
            "-p",
            &port.to_string(),
            "-c",
            "50",
            "-d",
            "3",
            "-r",
            "100000",
        ])
        .args([
            "-n",
            &requests.to_string(),
            "-P",
            &pipeline.to_string(),
            "-t",
            TESTS,
            "--csv",
        ])
        .output()
        .context("cannot run redis-benchmark")?;
    if !out.status.success() {
        bail!(
            "redis-benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut rps = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let fields: Vec<&str> = line.split("\",\"").map(|f| f.trim_matches('"')).collect();
        if let (Some(name), Some(v)) = (fields.first(), fields.get(1)) {
            if let Ok(v) = v.parse::<f64>() {
                rps.insert(name.to_string(), v);
            }
        }
    }
    Ok(rps)
}

fn used_memory(port: u16) -> Result<u64> {
    let info = cli(port, &["info", "memory"])?;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .context("no used_memory in INFO memory")
}

/// used_memory once the server holds 1M keys made by DEBUG POPULATE.
fn memory_for_1m_keys(port: u16) -> Result<u64> {
    cli(port, &["flushall"])?;
    let reply = cli(port, &["debug", "populate", "1000000"])?;
    if reply.trim() != "OK" {
        bail!("DEBUG POPULATE failed: {reply}");
    }
    let keys = cli(port, &["dbsize"])?;
    if keys.trim() != "1000000" {
        bail!("expected 1000000 keys, got {keys}");
    }
    let used = used_memory(port)?;
    cli(port, &["flushall"])?;
    Ok(used)
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

pub fn run(root: &Path) -> Result<()> {
    crate::util::cargo(
        root,
        &[
            "build",
            "--release",
            "-p",
            "kv-backend",
            "--bin",
            "kv-server",
        ],
    )?;
    let kv_bin = target_dir(root).join("release").join("kv-server");
    let data = std::env::temp_dir().join(format!("bench-kv-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;

    let redis_port = free_port()?;
    let redis_args: Vec<String> = [
        "--port",
        &redis_port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--enable-debug-command",
        "yes",
        "--dir",
        &data.to_string_lossy(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let redis = start(Path::new("redis-server"), &redis_args, redis_port)?;
    let kv_port = free_port()?;
    let kv_args: Vec<String> = [
        "--port",
        &kv_port.to_string(),
        "--bind",
        "127.0.0.1",
        "--enable-debug-command",
        "yes",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let kv = start(&kv_bin, &kv_args, kv_port)?;
    let pids = [("redis", redis.0.id()), ("kv", kv.0.id())];

    // best[(server, pipeline)][test] = best ops/s over the rounds.
    let mut best: BTreeMap<(&str, u32), BTreeMap<String, f64>> = BTreeMap::new();
    // cpu[(server, pipeline)] = (CPU ticks, requests) summed over the rounds.
    let mut cpu: BTreeMap<(&str, u32), (u64, u64)> = BTreeMap::new();
    for round in 0..ROUNDS {
        for (pipeline, requests) in [(1u32, 100_000u32), (16, 1_000_000)] {
            // Alternate which server goes first, so neither always runs on a cooler machine.
            let order = if round % 2 == 0 {
                [("redis", redis_port), ("kv", kv_port)]
            } else {
                [("kv", kv_port), ("redis", redis_port)]
            };
            for (name, port) in order {
                let pid = pids.iter().find(|(n, _)| *n == name).map_or(0, |p| p.1);
                let before = cpu_ticks(pid)?;
                let results = benchmark(port, pipeline, requests)?;
                let used = cpu.entry((name, pipeline)).or_default();
                used.0 += cpu_ticks(pid)?.saturating_sub(before);
                used.1 += requests as u64 * results.len() as u64;
                for (test, v) in results {
                    let slot = best
                        .entry((name, pipeline))
                        .or_default()
                        .entry(test)
                        .or_insert(0.0);
                    *slot = slot.max(v);
                }
            }
        }
    }
    let redis_mem = memory_for_1m_keys(redis_port)?;
    let kv_mem = memory_for_1m_keys(kv_port)?;
    let _ = std::fs::remove_dir_all(&data);

    let rps = |server: &str, p: u32, test: &str| -> f64 {
        best.get(&(server, p))
            .and_then(|m| m.get(test))
            .copied()
            .unwrap_or(0.0)
    };
    let ratio = |p: u32, test: &str| -> f64 {
        let theirs = rps("redis", p, test);
        if theirs > 0.0 {
            rps("kv", p, test) / theirs
        } else {
            0.0
        }
    };
    eprintln!("| test | P | redis-server ops/s | kv-server ops/s | ratio |");
    eprintln!("|---|---|---|---|---|");
    for p in [1, 16] {
        for (label, csv) in ROWS {
            eprintln!(
                "| {label} | {p} | {:.0} | {:.0} | {:.2} |",
                rps("redis", p, csv),
                rps("kv", p, csv),
                ratio(p, csv)
            );
        }
    }
    let hz = ticks_per_second();
    for p in [1, 16] {
        let per_request = |server: &str| -> f64 {
            let (ticks, requests) = cpu.get(&(server, p)).copied().unwrap_or((0, 0));
            ticks as f64 / hz * 1e6 / requests.max(1) as f64
        };
        eprintln!(
            "| server CPU µs per request, all tests | {p} | {:.2} | {:.2} | {:.2} |",
            per_request("redis"),
            per_request("kv"),
            per_request("kv") / per_request("redis").max(1e-9)
        );
    }
    let mem_ratio = kv_mem as f64 / redis_mem as f64;
    eprintln!(
        "| used_memory, 1M keys (DEBUG POPULATE) | - | {redis_mem} | {kv_mem} | {mem_ratio:.2} |"
    );
    println!(
        "kv: set_ratio={:.2} get_ratio={:.2} set_p16_ratio={:.2} get_p16_ratio={:.2} lrange100_ratio={:.2} mem_ratio={:.2}",
        ratio(1, "SET"),
        ratio(1, "GET"),
        ratio(16, "SET"),
        ratio(16, "GET"),
        ratio(1, "LRANGE_100 (first 100 elements)"),
        mem_ratio
    );
    Ok(())
}
