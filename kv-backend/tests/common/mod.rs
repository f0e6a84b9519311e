//! Helpers shared by the integration tests: free ports, server processes
//! that are always killed, and a tiny blocking RESP client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind port 0")
        .local_addr()
        .expect("local addr")
        .port()
}

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A server process, killed (and reaped) when dropped, even on test failure.
pub struct Server {
    pub port: u16,
    child: Child,
    _dir: Option<TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit by itself (SHUTDOWN, SIGTERM).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "kv-test-{tag}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("server on port {port} did not start");
}

fn spawn(mut cmd: Command, port: u16, dir: Option<TempDir>) -> Server {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let server = Server {
        port,
        child,
        _dir: dir,
    };
    wait_ready(port);
    server
}

/// Starts kv-server on a free port, with extra `--option value` arguments.
pub fn kv_server(extra: &[&str]) -> Server {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kv-server"));
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(extra);
    spawn(cmd, port, None)
}

/// Starts the real redis-server 7.0.15 the way the differential tests want.
pub fn redis_server(extra: &[&str]) -> Server {
    let port = free_port();
    let dir = TempDir::new("redis");
    let mut cmd = Command::new("redis-server");
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
    ])
    .arg(&dir.0)
    .args(extra);
    spawn(cmd, port, Some(dir))
}

/// Runs a python script from tests/py with arguments; returns (success, output).
pub fn python(script: &str, args: &[String]) -> (bool, String) {
    let path = crate_dir().join("tests").join("py").join(script);
    let out = Command::new("python3")
        .arg(&path)
        .args(args)
        .current_dir(crate_dir().join("tests"))
        .output()
        .expect("run python3");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Runs a tests/py script against a fresh redis-server 7.0.15 and a fresh
/// kv-server (their ports come first, then `args`). The script must succeed
/// and print `marker`, its proof that it ran to the end.
#[allow(dead_code)] // Not every test binary that includes this module uses it.
pub fn python_vs_redis(script: &str, args: &[String], marker: &str) {
    let redis = redis_server(&[]);
    let kv = kv_server(&[]);
    let mut all = vec![redis.port.to_string(), kv.port.to_string()];
    all.extend_from_slice(args);
    let (ok, out) = python(script, &all);
    println!("{out}");
    assert!(ok, "{script}: kv-server differs from redis-server:\n{out}");
    assert!(
        out.contains(marker),
        "{script} did not run to the end: {out}"
    );
}

/// A RESP reply, as far as the tests need to look at it.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
}

impl Resp {
    pub fn as_int(&self) -> i64 {
        match self {
            Resp::Int(n) => *n,
            other => panic!("expected integer, got {other:?}"),
        }
    }
    pub fn as_text(&self) -> String {
        match self {
            Resp::Simple(s) | Resp::Error(s) => s.clone(),
            Resp::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("expected text, got {other:?}"),
        }
    }
}

/// A minimal blocking RESP2 client with a read timeout.
pub struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Client {
            r: BufReader::new(s.try_clone().expect("clone")),
            w: s,
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.w.write_all(bytes)
    }

    pub fn cmd(&mut self, args: &[&str]) -> Resp {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a.as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&buf).expect("write");
        self.read().expect("read reply")
    }

    pub fn read(&mut self) -> std::io::Result<Resp> {
        let mut line = String::new();
        if self.r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed",
            ));
        }
        let line = line.trim_end_matches("\r\n").to_string();
        let (t, rest) = line.split_at(1);
        Ok(match t {
            "+" => Resp::Simple(rest.into()),
            "-" => Resp::Error(rest.into()),
            ":" => Resp::Int(rest.parse().expect("int")),
            "$" => {
                let n: i64 = rest.parse().expect("len");
                if n < 0 {
                    Resp::Bulk(None)
                } else {
                    let mut b = vec![0; n as usize + 2];
                    self.r.read_exact(&mut b)?;
                    b.truncate(n as usize);
                    Resp::Bulk(Some(b))
                }
            }
            "*" => {
                let n: i64 = rest.parse().expect("len");
                if n < 0 {
                    Resp::Array(None)
                } else {
                    let mut v = Vec::new();
                    for _ in 0..n {
                        v.push(self.read()?);
                    }
                    Resp::Array(Some(v))
                }
            }
            other => panic!("unexpected reply type {other:?} in {line:?}"),
        })
    }
}

/// INFO field value from a server.
pub fn info_field(c: &mut Client, section: &str, field: &str) -> String {
    let text = c.cmd(&["INFO", section]).as_text();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
