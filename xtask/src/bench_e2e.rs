//! `cargo xtask bench e2e`: redis-benchmark from the client namespace three
//! ways in one run: straight to one real server, through our VIP in DR
//! mode, and through HAProxy (TCP mode) on lb1 to the same real servers.
//! Prints `e2e: via_vip_over_direct=<r> via_vip_over_haproxy=<r>`, each
//! the geometric mean of the SET and GET ratios at -P 1 and -P 16.

use crate::testbed_cmd::{self, Mode, Testbed, REDIS_PORT};
use anyhow::{bail, Context, Result};
use std::path::Path;
use testbed::{Node, Role, VIP};

const HAPROXY_PORT: u16 = 6380;
const REQUESTS: u32 = 100_000;

/// (SET, GET) requests per second for one target and pipeline depth.
fn redis_benchmark(client: &Node, host: &str, port: u16, pipeline: u32) -> Result<[f64; 2]> {
    let line = format!(
        "redis-benchmark -h {host} -p {port} -q -n {REQUESTS} -c 50 -d 3 -P {pipeline} -t set,get"
    );
    let out = client.command("sh").args(["-c", &line]).output()?;
    if !out.status.success() {
        bail!("{line}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = |test: &str| -> Result<f64> {
        text.split(['\r', '\n'])
            .filter_map(|l| l.trim().strip_prefix(&format!("{test}: ")))
            .filter_map(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
            .next_back()
            .with_context(|| format!("no {test} figure in {text:?}"))
    };
    Ok([rps("SET")?, rps("GET")?])
}

fn haproxy_config(dir: &Path) -> Result<String> {
    let path = dir.join("haproxy.cfg");
    let servers: String = Mode::Dr
        .reals()
        .iter()
        .map(|(role, _)| format!("    server {} {}:{REDIS_PORT}\n", role.name(), role.ip()))
        .collect();
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        &path,
        format!(
            "global\n    maxconn 4096\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n\
             listen redis\n    bind {}:{HAPROXY_PORT}\n    balance roundrobin\n{servers}",
            Role::Lb1.ip()
        ),
    )?;
    Ok(path.display().to_string())
}

fn geometric_mean(ratios: &[f64]) -> f64 {
    (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp()
}

pub fn run(root: &Path) -> Result<()> {
    crate::setup::run(root)?;
    let bin = testbed_cmd::build_binaries(root)?;
    if !testbed::list_namespaces_with_prefix(&format!("{}-", testbed_cmd::PREFIX))?.is_empty() {
        bail!("a testbed is already up; remove it first with `cargo xtask testbed down`");
    }
    let result = measure(bin);
    testbed_cmd::down()?;
    let (direct, vip, haproxy) = result?;
    let over = |a: &[[f64; 2]; 2], b: &[[f64; 2]; 2]| {
        geometric_mean(&[
            a[0][0] / b[0][0],
            a[0][1] / b[0][1],
            a[1][0] / b[1][0],
            a[1][1] / b[1][1],
        ])
    };
    for (name, r) in [
        ("direct", &direct),
        ("via VIP", &vip),
        ("via HAProxy", &haproxy),
    ] {
        eprintln!(
            "{name:12} SET {:>9.0} GET {:>9.0} (-P 1)   SET {:>9.0} GET {:>9.0} (-P 16)",
            r[0][0], r[0][1], r[1][0], r[1][1]
        );
    }
    println!(
        "e2e: via_vip_over_direct={:.2} via_vip_over_haproxy={:.2}",
        over(&vip, &direct),
        over(&vip, &haproxy)
    );
    Ok(())
}

type Figures = [[f64; 2]; 2];

fn measure(bin: std::path::PathBuf) -> Result<(Figures, Figures, Figures)> {
    let tb = Testbed::up(bin, Mode::Dr)?;
    let lb1 = tb.topo.node(Role::Lb1);
    let cfg = haproxy_config(&tb.topo.log_dir().join("haproxy"))?;
    let _haproxy = lb1.spawn(&["haproxy", "-db", "-f", &cfg])?;
    lb1.wait_for_tcp(
        (Role::Lb1.ip(), HAPROXY_PORT).into(),
        std::time::Duration::from_secs(10),
    )?;
    let client = tb.topo.node(Role::Client);
    let direct_host = Role::Rs1.ip().to_string();
    let vip = VIP.to_string();
    let lb1_host = Role::Lb1.ip().to_string();
    let mut figures = [[[0.0; 2]; 2]; 3];
    for (p, pipeline) in [1, 16].into_iter().enumerate() {
        figures[0][p] = redis_benchmark(client, &direct_host, REDIS_PORT, pipeline)?;
        figures[1][p] = redis_benchmark(client, &vip, REDIS_PORT, pipeline)?;
        figures[2][p] = redis_benchmark(client, &lb1_host, HAPROXY_PORT, pipeline)?;
    }
    Ok((figures[0], figures[1], figures[2]))
}
