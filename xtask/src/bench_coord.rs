//! `cargo xtask bench coord`: coord-server against Apache ZooKeeper 3.8 in
//! the same run, with the same load generator (`coord-bench`, an async Rust
//! client: 32 concurrent clients, 1 KB values, fsync on in both servers).
//! Prints exactly one line:
//! `coord: create_ratio=<r> set_ratio=<r> get_ratio=<r> p99_set_us=<n>`
//! where each ratio is our ops/s over ZooKeeper's and p99_set_us is ours.

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ZK_CLASSPATH: &str = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar";

/// A server process and its data dir, both gone on drop.
struct Server {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn srvr(port: u16) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"srvr");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Starts `cmd` with a zoo.cfg in a fresh dir and waits until it serves.
fn start(name: &str, root: &Path, cmd: impl FnOnce(&Path) -> Command) -> Result<Server> {
    // Under the workspace, so both servers fsync to the same real disk.
    let dir = root
        .join("target")
        .join(format!("bench-coord-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data"))?;
    let port = free_port()?;
    let cfg = dir.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nadmin.enableServer=false\n4lw.commands.whitelist=srvr\n",
            dir.join("data").display()
        ),
    )?;
    let log = std::fs::File::create(dir.join("server.log"))?;
    let child = cmd(&cfg)
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("start {name}"))?;
    let mut server = Server { child, dir, port };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !srvr(port).contains("Mode: ") {
        if let Some(status) = server.child.try_wait()? {
            bail!(
                "{name} exited: {status}; see {}",
                server.dir.join("server.log").display()
            );
        }
        if Instant::now() > deadline {
            bail!("{name} did not start serving within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(server)
}

/// Runs the load generator; returns its key=value results.
fn load(bench: &Path, port: u16) -> Result<HashMap<String, f64>> {
    let out = Command::new(bench)
        .args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--clients",
            "32",
            "--seconds",
            "5",
            "--warmup",
            "2",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("run coord-bench")?;
    if !out.status.success() {
        bail!("coord-bench failed: {}", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = HashMap::new();
    for pair in text.split_whitespace() {
        if let Some((k, v)) = pair.split_once('=') {
            fields.insert(
                k.to_string(),
                v.parse().with_context(|| format!("bad value in {pair}"))?,
            );
        }
    }
    Ok(fields)
}

pub fn run(root: &Path) -> Result<()> {
    if !Path::new("/usr/share/java/zookeeper.jar").exists() {
        bail!("ZooKeeper is not installed; run `cargo xtask setup`");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--release", "-q", "-p", "coord", "--bins"])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("building coord failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = |name: &str| target.join("release").join(name);

    let zk = start("zookeeper", root, |cfg| {
        let mut c = Command::new("java");
        c.args([
            "-cp",
            ZK_CLASSPATH,
            "org.apache.zookeeper.server.ZooKeeperServerMain",
        ])
        .arg(cfg);
        c
    })?;
    let theirs = load(&bin("coord-bench"), zk.port)?;
    drop(zk);
    let ours_server = start("coord", root, |cfg| {
        let mut c = Command::new(bin("coord-server"));
        c.arg(cfg);
        c
    })?;
    let ours = load(&bin("coord-bench"), ours_server.port)?;
    drop(ours_server);

    let ratio = |key: &str| -> Result<f64> {
        let (a, b) = (ours.get(key), theirs.get(key));
        match (a, b) {
            (Some(a), Some(b)) if *b > 0.0 => Ok(a / b),
            _ => bail!("missing {key} in the load generator's output"),
        }
    };
    eprintln!("coord-server: {ours:?}\nzookeeper:    {theirs:?}");
    println!(
        "coord: create_ratio={:.2} set_ratio={:.2} get_ratio={:.2} p99_set_us={:.0}",
        ratio("create_ops")?,
        ratio("set_ops")?,
        ratio("get_ops")?,
        ours.get("p99_set_us").copied().unwrap_or(0.0)
    );
    Ok(())
}
