//! redis-benchmark's default suite runs against kv-server without an error.

mod common;
use common::*;
use std::process::Command;

#[test]
fn redis_benchmark_default_tests_pass() {
    let kv = kv_server(&[]);
    let out = Command::new("redis-benchmark")
        .args(["-p", &kv.port.to_string(), "-q", "-n", "20000"])
        .output()
        .expect("run redis-benchmark");
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n")
        + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "redis-benchmark failed: {text}");
    let expected = [
        "PING_INLINE",
        "PING_MBULK",
        "SET",
        "GET",
        "INCR",
        "LPUSH",
        "RPUSH",
        "LPOP",
        "RPOP",
        "SADD",
        "HSET",
        "SPOP",
        "ZADD",
        "ZPOPMIN",
        "LRANGE_100",
        "LRANGE_300",
        "LRANGE_500",
        "LRANGE_600",
        "MSET",
    ];
    for t in expected {
        let done = text.lines().any(|l| {
            l.starts_with(&format!("{t}: ")) && l.contains("requests per second")
                || l.starts_with(&format!("{t} ")) && l.contains("requests per second")
        });
        assert!(done, "test {t} did not complete:\n{text}");
    }
    let lower = text.to_lowercase();
    assert!(
        !lower.contains("error") && !lower.contains("err "),
        "errors reported:\n{text}"
    );
    let mut c = Client::connect(kv.port);
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
}
