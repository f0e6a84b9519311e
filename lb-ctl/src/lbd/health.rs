//! Application-level health checks, each real server on its own task.
//!
//! A probe is one attempt (connect, exchange, verdict) bounded by
//! connect_timeout, as keepalived bounds it. The `Tracker` turns attempts
//! into transitions with keepalived's rules: a server starts up, goes down
//! after `retry` failures in a row (spaced by delay_before_retry), and comes
//! back after one success; checks repeat every delay_loop.

use super::config::{HealthCheck, HttpGet};
use crate::services::ServiceAddr;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The most of a reply a probe reads (keepalived reads whole bodies; we
/// bound them so a bad server cannot eat memory).
const MAX_REPLY: usize = 4 << 20;

/// A real server of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RealKey {
    pub service: ServiceAddr,
    pub ip: Ipv4Addr,
    pub port: u16,
}

/// A transition, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthEvent {
    pub key: RealKey,
    pub up: bool,
    pub reason: String,
}

/// keepalived's up/down rules over probe results.
#[derive(Debug, Clone)]
pub struct Tracker {
    pub up: bool,
    failures: u32,
    retry: u32,
}

impl Tracker {
    pub fn new(retry: u32) -> Tracker {
        Tracker {
            up: true,
            failures: 0,
            retry: retry.max(1),
        }
    }

    /// Records one attempt; returns the new state when it changed.
    pub fn record(&mut self, result: &Result<(), String>) -> Option<bool> {
        match result {
            Ok(()) => {
                self.failures = 0;
                (!self.up).then(|| {
                    self.up = true;
                    true
                })
            }
            Err(_) if !self.up => None,
            Err(_) => {
                self.failures += 1;
                (self.failures >= self.retry).then(|| {
                    self.up = false;
                    self.failures = 0;
                    false
                })
            }
        }
    }

    /// How long to wait before the next attempt: a failing server that
    /// is still up is retried sooner.
    pub fn next_delay(&self, delay_loop: Duration, delay_before_retry: Duration) -> Duration {
        if self.up && self.failures > 0 {
            delay_before_retry
        } else {
            delay_loop
        }
    }
}

/// Starts the checker task of one real server. It reports transitions on
/// `events` and runs until aborted (or the receiver is gone).
pub fn spawn_checker(
    key: RealKey,
    check: HealthCheck,
    delay_loop: Duration,
    events: mpsc::UnboundedSender<HealthEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let params = check.params().clone();
        let port = params.connect_port.map(|p| p.0).unwrap_or(key.port);
        let target = SocketAddrV4::new(key.ip, port);
        let delay_loop = params.delay_loop.map(|d| d.0).unwrap_or(delay_loop);
        let mut tracker = Tracker::new(params.retry);
        loop {
            let result = probe(&check, target).await;
            if let Some(up) = tracker.record(&result) {
                let reason = match &result {
                    Ok(()) => format!("{} succeeded", check.kind()),
                    Err(e) => format!(
                        "{} failed {} time(s) in a row: {e}",
                        check.kind(),
                        params.retry
                    ),
                };
                let event = HealthEvent { key, up, reason };
                if events.send(event).is_err() {
                    return;
                }
            }
            let delay = tracker.next_delay(delay_loop, params.delay_before_retry.0);
            tokio::time::sleep(delay).await;
        }
    })
}

/// One attempt of `check` against `target`.
pub async fn probe(check: &HealthCheck, target: SocketAddrV4) -> Result<(), String> {
    let timeout = check.params().connect_timeout.0;
    match tokio::time::timeout(timeout, exchange(check, target)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer from {target} within {timeout:?}")),
    }
}

async fn exchange(check: &HealthCheck, target: SocketAddrV4) -> Result<(), String> {
    let mut stream = TcpStream::connect(target)
        .await
        .map_err(|e| format!("connect to {target}: {e}"))?;
    match check {
        HealthCheck::Tcp(_) => Ok(()),
        HealthCheck::Http(http) => http_get(&mut stream, target, http).await,
        HealthCheck::RedisPing(_) => {
            let line = ask(&mut stream, b"*1\r\n$4\r\nPING\r\n", true).await?;
            expect_reply(&line, "+PONG")
        }
        HealthCheck::ZkRuok(_) => {
            let reply = ask(&mut stream, b"ruok", false).await?;
            expect_reply(&reply, "imok")
        }
    }
}

fn expect_reply(got: &[u8], want: &str) -> Result<(), String> {
    let got = String::from_utf8_lossy(got);
    let got = got.trim_end();
    if got == want {
        Ok(())
    } else {
        Err(format!("replied `{}`, want `{want}`", shorten(got)))
    }
}

fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Sends `request`, then reads one line (`line_only`) or up to EOF.
async fn ask(stream: &mut TcpStream, request: &[u8], line_only: bool) -> Result<Vec<u8>, String> {
    stream
        .write_all(request)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
        if (line_only && reply.ends_with(b"\r\n")) || reply.len() >= MAX_REPLY {
            break;
        }
    }
    if reply.is_empty() {
        return Err("connection closed without a reply".into());
    }
    Ok(reply)
}

async fn http_get(
    stream: &mut TcpStream,
    target: SocketAddrV4,
    http: &HttpGet,
) -> Result<(), String> {
    // HTTP/1.0 and Connection: close, so the body ends at EOF and is never
    // chunked, as keepalived's checker asks.
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {target}\r\nUser-Agent: lbd\r\nConnection: close\r\n\r\n",
        http.path
    );
    let reply = ask(stream, request.as_bytes(), false).await?;
    let (status, body) = parse_http(&reply)?;
    if status != http.status_code {
        return Err(format!("HTTP status {status}, want {}", http.status_code));
    }
    if let Some(want) = &http.digest {
        let got = md5::compute(body);
        if got.0 != want.0 {
            return Err(format!(
                "body digest {got:x} differs from the configured one"
            ));
        }
    }
    Ok(())
}

/// The status code and body of an HTTP/1.x response.
pub fn parse_http(reply: &[u8]) -> Result<(u16, &[u8]), String> {
    let head_end = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of HTTP headers")?;
    let status_line = reply[..head_end]
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or(b"");
    let status_line = String::from_utf8_lossy(status_line);
    let mut words = status_line.split_whitespace();
    let version = words.next().unwrap_or("");
    let code = words.next().and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(code) if version.starts_with("HTTP/1.") => Ok((code, &reply[head_end + 4..])),
        _ => Err(format!(
            "not an HTTP status line: `{}`",
            shorten(&status_line)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_failures_in_a_row_take_a_server_down_and_one_success_brings_it_back() {
        let mut t = Tracker::new(3);
        let fail = Err("x".to_string());
        assert_eq!(t.record(&fail), None);
        assert_eq!(t.record(&Ok(())), None, "a success resets the count");
        assert_eq!(t.record(&fail), None);
        assert_eq!(t.record(&fail), None);
        assert_eq!(t.record(&fail), Some(false));
        assert_eq!(t.record(&fail), None, "already down");
        assert_eq!(t.record(&Ok(())), Some(true));
    }

    #[test]
    fn a_failing_server_is_retried_after_delay_before_retry() {
        let (dl, dbr) = (Duration::from_secs(6), Duration::from_secs(1));
        let mut t = Tracker::new(2);
        assert_eq!(t.next_delay(dl, dbr), dl);
        t.record(&Err("x".into()));
        assert_eq!(t.next_delay(dl, dbr), dbr);
        t.record(&Err("x".into()));
        assert!(!t.up);
        assert_eq!(t.next_delay(dl, dbr), dl);
    }

    #[test]
    fn http_replies_are_parsed() {
        let (code, body) = parse_http(b"HTTP/1.1 503 Busy\r\nA: b\r\n\r\nbody").unwrap();
        assert_eq!((code, body), (503, &b"body"[..]));
        assert!(parse_http(b"SSH-2.0\r\n\r\n").is_err());
        assert!(parse_http(b"HTTP/1.0 200 OK\r\n").is_err());
    }
}
