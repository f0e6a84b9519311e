//! Shared by coord's integration tests: coord-server and Apache ZooKeeper
//! processes on free ports in temp dirs (killed on drop, even when a test
//! fails), and a runner for the kazoo scripts in tests/py.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A fresh directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "coord-test-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sends a four-letter word and returns the answer ("" if nobody answers).
pub fn four_letter(port: u16, word: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(word.as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Waits until the server serves requests. ZooKeeper answers `ruok` before
/// it does; `srvr` reports the mode only once it is serving.
fn wait_serving(port: u16, child: &mut Child, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if four_letter(port, "srvr").contains("Mode: ") {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("server on port {port} exited during startup: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server on port {port} was not serving within {limit:?}");
}

/// A coord-server with its own data dir and port.
pub struct Coord {
    pub port: u16,
    pub dir: TempDir,
    extra_cfg: String,
    child: Option<Child>,
}

impl Coord {
    /// Starts with tickTime=200 (sessions of 0.4 to 4 s) plus `extra_cfg` lines.
    pub fn start(extra_cfg: &str) -> Coord {
        let mut c =
            Coord { port: free_port(), dir: TempDir::new("coord"), extra_cfg: extra_cfg.to_string(), child: None };
        c.launch();
        c
    }

    pub fn hosts(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.0.join("data")
    }

    fn launch(&mut self) {
        let cfg = self.dir.0.join("zoo.cfg");
        let text = format!(
            "tickTime=200\ndataDir={}\nclientPort={}\n{}\n",
            self.data_dir().display(),
            self.port,
            self.extra_cfg
        );
        std::fs::write(&cfg, text).unwrap();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.0.join("server.log")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_coord-server"))
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start coord-server");
        wait_serving(self.port, &mut child, Duration::from_secs(20));
        self.child = Some(child);
    }

    /// SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.launch();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Coord {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Apache ZooKeeper 3.8 from the Debian package, standalone.
pub struct Zookeeper {
    pub port: u16,
    _dir: TempDir,
    child: Child,
}

pub const ZK_CLASSPATH: &str = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar";

impl Zookeeper {
    pub fn start(extra_cfg: &str) -> Zookeeper {
        assert!(
            Path::new("/usr/share/java/zookeeper.jar").exists(),
            "Debian's zookeeper package is missing: run `cargo xtask setup`"
        );
        let dir = TempDir::new("zk");
        let port = free_port();
        let cfg = dir.0.join("zoo.cfg");
        let text = format!(
            "tickTime=200\ndataDir={}/data\nclientPort={port}\nadmin.enableServer=false\n4lw.commands.whitelist=*\n{extra_cfg}\n",
            dir.0.display()
        );
        std::fs::write(&cfg, text).unwrap();
        let log = std::fs::File::create(dir.0.join("zk.log")).unwrap();
        let mut child = Command::new("java")
            .args(["-Xmx256m", "-cp", ZK_CLASSPATH, "-Dzookeeper.extendedTypesEnabled=true"])
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&cfg)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start java");
        wait_serving(port, &mut child, Duration::from_secs(60));
        Zookeeper { port, _dir: dir, child }
    }

    pub fn hosts(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Zookeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn py_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("py")
}

/// Runs a command with a time limit; kills it when the limit passes.
pub fn run_limited(cmd: &mut Command, limit: Duration) -> Output {
    run_limited_with_input(cmd, b"", limit)
}

/// As [`run_limited`], with `input` fed to the command's stdin.
pub fn run_limited_with_input(cmd: &mut Command, input: &[u8], limit: Duration) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let s = child.wait().unwrap();
            eprintln!("command timed out after {limit:?}: {cmd:?}");
            break s;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = feeder.join();
    Output { status, stdout: out_reader.join().unwrap(), stderr: err_reader.join().unwrap() }
}

/// Runs tests/py/<script> with `args`; panics with its output unless it
/// exits 0 and prints OK as its last line. Returns stdout.
pub fn kazoo(script: &str, args: &[&str]) -> String {
    let out = run_limited(
        Command::new("python3").arg(py_dir().join(script)).args(args).current_dir(py_dir()),
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("OK"),
        "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    stdout
}
