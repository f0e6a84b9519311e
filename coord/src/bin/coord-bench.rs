//! `coord-bench --addr HOST:PORT [--clients 32] [--seconds 3] [--warmup 1] [--value-size 1024]`
//!
//! The load generator of `cargo xtask bench coord`: N concurrent clients,
//! each with its own session and one request in flight, run create, setData
//! and getData phases against any ZooKeeper-compatible server. Prints one
//! line: `create_ops=<n> set_ops=<n> get_ops=<n> p99_set_us=<n>`.

use coord::client::Client;
use std::process::exit;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    addr: String,
    clients: usize,
    seconds: f64,
    warmup: f64,
    value_size: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { addr: String::new(), clients: 32, seconds: 3.0, warmup: 1.0, value_size: 1024 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|_| format!("{flag} {v}: not a number"));
        match flag.as_str() {
            "--addr" => a.addr = value,
            "--clients" => a.clients = num(&value)? as usize,
            "--seconds" => a.seconds = num(&value)?,
            "--warmup" => a.warmup = num(&value)?,
            "--value-size" => a.value_size = num(&value)? as usize,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if a.addr.is_empty() || a.clients == 0 {
        return Err(
            "usage: coord-bench --addr HOST:PORT [--clients N] [--seconds S] [--warmup S] [--value-size B]".into()
        );
    }
    Ok(a)
}

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Create,
    Set,
    Get,
}

/// Runs one phase for `secs` on every client; returns (ops/s, latencies in µs).
async fn phase(clients: &mut Vec<Client>, phase: Phase, secs: f64, value: Arc<Vec<u8>>, tag: &str) -> (f64, Vec<u64>) {
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = clients
        .drain(..)
        .enumerate()
        .map(|(k, mut c)| {
            let (value, tag) = (value.clone(), tag.to_string());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = 0u64;
                while Instant::now() < until {
                    let t = Instant::now();
                    let ok = match phase {
                        Phase::Create => {
                            matches!(c.create(&format!("/bench/{tag}-{k}-{i}"), &value, 0).await, Ok(Ok(_)))
                        }
                        Phase::Set => matches!(c.set_data(&format!("/bench/s-{k}"), &value, -1).await, Ok(Ok(_))),
                        Phase::Get => matches!(c.get_data(&format!("/bench/s-{k}"), false).await, Ok(Ok(_))),
                    };
                    if !ok {
                        eprintln!("coord-bench: request failed on client {k}");
                        exit(1);
                    }
                    lat.push(t.elapsed().as_micros() as u64);
                    i += 1;
                }
                (c, lat)
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        let (c, lat) = t.await.expect("bench task");
        clients.push(c);
        all.extend(lat);
    }
    let ops = all.len() as f64 / start.elapsed().as_secs_f64();
    (ops, all)
}

fn p99(mut lat: Vec<u64>) -> u64 {
    lat.sort_unstable();
    lat.get((lat.len() * 99 / 100).min(lat.len().saturating_sub(1))).copied().unwrap_or(0)
}

async fn run(a: Args) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{}: {e}", a.addr);
    let mut setup = Client::connect(&a.addr, 30_000).await.map_err(err)?;
    let value = Arc::new(vec![b'v'; a.value_size]);
    let _ = setup.create("/bench", b"", 0).await.map_err(err)?;
    let mut clients = Vec::new();
    for k in 0..a.clients {
        let _ = setup.create(&format!("/bench/s-{k}"), &value, 0).await.map_err(err)?;
        clients.push(Client::connect(&a.addr, 30_000).await.map_err(err)?);
    }
    let mut results = Vec::new();
    for p in [Phase::Create, Phase::Set, Phase::Get] {
        if a.warmup > 0.0 {
            phase(&mut clients, p, a.warmup, value.clone(), "warm").await;
        }
        results.push(phase(&mut clients, p, a.seconds, value.clone(), "c").await);
    }
    let set_p99 = p99(results[1].1.clone());
    println!(
        "create_ops={:.0} set_ops={:.0} get_ops={:.0} p99_set_us={set_p99}",
        results[0].0, results[1].0, results[2].0
    );
    for c in clients {
        let _ = c.close().await;
    }
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("coord-bench: {e}");
            exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    if let Err(e) = rt.block_on(run(args)) {
        eprintln!("coord-bench: {e}");
        exit(1);
    }
}
