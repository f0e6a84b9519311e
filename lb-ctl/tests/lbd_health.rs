//! Health checks against real servers on 127.0.0.1: a server killed and
//! restarted goes DOWN after `retry` failures and comes back UP.

use lb_ctl::lbd::config::{CheckParams, Digest, HealthCheck, HttpGet, Seconds};
use lb_ctl::lbd::health::{probe, spawn_checker, HealthEvent, RealKey};
use lb_ctl::services::{Protocol, ServiceAddr};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;

fn fast_params(retry: u32) -> CheckParams {
    CheckParams {
        connect_timeout: Seconds(Duration::from_millis(500)),
        retry,
        delay_before_retry: Seconds(Duration::from_millis(30)),
        delay_loop: Some(Seconds(Duration::from_millis(50))),
        connect_port: None,
    }
}

fn key(port: u16) -> RealKey {
    RealKey {
        service: ServiceAddr::new(Ipv4Addr::new(198, 18, 0, 100), 80, Protocol::Tcp),
        ip: LOCAL,
        port,
    }
}

/// A TCP server on a thread answering every connection with `reply(request)`
/// until dropped.
struct TinyServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TinyServer {
    fn start(port: u16, reply: fn(&[u8]) -> Vec<u8>) -> TinyServer {
        let listener = TcpListener::bind((LOCAL, port)).expect("bind");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_millis(200)))
                            .unwrap();
                        let mut buf = [0u8; 1024];
                        let n = s.read(&mut buf).unwrap_or(0);
                        let _ = s.write_all(&reply(&buf[..n]));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TinyServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TinyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn silent(_: &[u8]) -> Vec<u8> {
    Vec::new()
}

fn imok(req: &[u8]) -> Vec<u8> {
    if req == b"ruok" {
        b"imok".to_vec()
    } else {
        Vec::new()
    }
}

fn not_whitelisted(_: &[u8]) -> Vec<u8> {
    b"ruok is not executed because it is not in the whitelist.\n".to_vec()
}

fn http_ok(req: &[u8]) -> Vec<u8> {
    assert!(
        req.starts_with(b"GET /health HTTP/1.0\r\n"),
        "{}",
        String::from_utf8_lossy(req)
    );
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec()
}

fn http_busy(_: &[u8]) -> Vec<u8> {
    b"HTTP/1.1 503 Service Unavailable\r\n\r\n".to_vec()
}

fn http_check(digest: Option<&str>) -> HealthCheck {
    HealthCheck::Http(HttpGet {
        path: "/health".into(),
        status_code: 200,
        digest: digest.map(|d| Digest::try_from(d.to_string()).unwrap()),
        params: fast_params(1),
    })
}

async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<HealthEvent>,
    within: Duration,
) -> Option<HealthEvent> {
    tokio::time::timeout(within, rx.recv()).await.ok().flatten()
}

/// Kill and restart a server; the checker reports DOWN, then UP.
async fn down_and_back(check: HealthCheck, start: impl Fn(u16) -> Box<dyn Send>, first_port: u16) {
    let server = start(first_port);
    let port = first_port;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = spawn_checker(key(port), check, Duration::from_millis(50), tx);
    assert!(
        next_event(&mut rx, Duration::from_millis(400))
            .await
            .is_none(),
        "a healthy server stays up"
    );
    drop(server);
    let down = next_event(&mut rx, Duration::from_secs(5))
        .await
        .expect("DOWN after the kill");
    assert!(!down.up);
    assert!(
        down.reason.contains("failed 2 time(s) in a row"),
        "{}",
        down.reason
    );
    let server = start(port);
    let up = next_event(&mut rx, Duration::from_secs(5))
        .await
        .expect("UP after the restart");
    assert!(up.up, "{up:?}");
    task.abort();
    drop(server);
}

fn free_port() -> u16 {
    TcpListener::bind((LOCAL, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_check_follows_a_killed_and_restarted_server() {
    let port = free_port();
    down_and_back(
        HealthCheck::Tcp(fast_params(2)),
        |p| Box::new(TinyServer::start(p, silent)),
        port,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zk_ruok_wants_imok() {
    let port = free_port();
    down_and_back(
        HealthCheck::ZkRuok(fast_params(2)),
        |p| Box::new(TinyServer::start(p, imok)),
        port,
    )
    .await;
    let refusing = TinyServer::start(0, not_whitelisted);
    let err = probe(
        &HealthCheck::ZkRuok(fast_params(1)),
        SocketAddrV4::new(LOCAL, refusing.port),
    )
    .await
    .unwrap_err();
    assert!(err.contains("not in the whitelist"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_get_checks_status_and_digest() {
    let ok = TinyServer::start(0, http_ok);
    let at = SocketAddrV4::new(LOCAL, ok.port);
    // md5("hello"), as `genhash` prints it.
    probe(&http_check(Some("5d41402abc4b2a76b9719d911017c592")), at)
        .await
        .unwrap();
    probe(&http_check(None), at).await.unwrap();
    let err = probe(&http_check(Some("00000000000000000000000000000000")), at)
        .await
        .unwrap_err();
    assert!(
        err.contains("digest 5d41402abc4b2a76b9719d911017c592 differs"),
        "{err}"
    );
    let busy = TinyServer::start(0, http_busy);
    let err = probe(&http_check(None), SocketAddrV4::new(LOCAL, busy.port))
        .await
        .unwrap_err();
    assert_eq!(err, "HTTP status 503, want 200");
    let mute = TinyServer::start(0, silent);
    let err = probe(&http_check(None), SocketAddrV4::new(LOCAL, mute.port))
        .await
        .unwrap_err();
    assert!(err.contains("closed without a reply"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out() {
    // Accepts (the kernel does) but never replies to PING.
    let listener = TcpListener::bind((LOCAL, 0)).unwrap();
    let at = SocketAddrV4::new(LOCAL, listener.local_addr().unwrap().port());
    let err = probe(&HealthCheck::RedisPing(fast_params(1)), at)
        .await
        .unwrap_err();
    assert!(
        err.contains("no answer") && err.contains("within 500ms"),
        "{err}"
    );
}

/// redis-server, killed on drop.
struct Redis(Child);

impl Redis {
    fn start(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (cargo xtask setup installs it)");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect((LOCAL, port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis(child)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_ping_follows_a_killed_and_restarted_redis_server() {
    let port = free_port();
    down_and_back(
        HealthCheck::RedisPing(fast_params(2)),
        |p| Box::new(Redis::start(p)),
        port,
    )
    .await;
}
