//! redis-cli as a user runs it, against kv-server and redis-server: the
//! printed output must be the same.

mod common;
use common::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn cli(port: u16, args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut cmd = Command::new("redis-cli");
    cmd.arg("-p")
        .arg(port.to_string())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("run redis-cli");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("redis-cli output");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Runs the same invocation on both servers and requires equal output.
fn same(redis: &Server, kv: &Server, args: &[&str], stdin: Option<&[u8]>) -> String {
    let want = cli(redis.port, args, stdin);
    let got = cli(kv.port, args, stdin);
    assert_eq!(got, want, "redis-cli {args:?} differs");
    got
}

#[test]
fn raw_and_formatted_output() {
    let redis = redis_server(&[]);
    let kv = kv_server(&[]);
    same(&redis, &kv, &["set", "k3", "中"], None);
    // redis-cli prints raw when stdout is not a terminal; --no-raw forces the
    // formatted output a user sees in a terminal.
    let fancy = same(&redis, &kv, &["--no-raw", "get", "k3"], None);
    assert_eq!(fancy, "\"\\xe4\\xb8\\xad\"\n");
    let raw = same(&redis, &kv, &["--raw", "get", "k3"], None);
    assert_eq!(raw, "中\n");
    same(&redis, &kv, &["append", "k3", "x"], None);
    same(&redis, &kv, &["rpush", "l", "a", "b", "c"], None);
    let list = same(&redis, &kv, &["--no-raw", "lrange", "l", "0", "-1"], None);
    assert_eq!(list, "1) \"a\"\n2) \"b\"\n3) \"c\"\n");
    same(&redis, &kv, &["--raw", "lrange", "l", "0", "-1"], None);
    for raw in ["--raw", "--no-raw"] {
        same(&redis, &kv, &[raw, "lrange", "nokey", "0", "-1"], None);
        same(&redis, &kv, &[raw, "get", "nokey"], None);
        same(&redis, &kv, &[raw, "incr", "l"], None);
        same(&redis, &kv, &[raw, "zadd", "z", "1.5", "m"], None);
        same(
            &redis,
            &kv,
            &[raw, "zrange", "z", "0", "-1", "withscores"],
            None,
        );
        same(&redis, &kv, &[raw, "hset", "h", "f", "v"], None);
        same(&redis, &kv, &[raw, "hgetall", "h"], None);
        same(&redis, &kv, &[raw, "nosuchcommand", "x"], None);
        same(&redis, &kv, &[raw, "exists", "h", "l"], None);
    }
}

#[test]
fn database_option_selects_db() {
    let redis = redis_server(&[]);
    let kv = kv_server(&[]);
    same(&redis, &kv, &["-n", "3", "set", "a", "1"], None);
    let v = same(&redis, &kv, &["--no-raw", "-n", "3", "get", "a"], None);
    assert_eq!(v, "\"1\"\n");
    same(&redis, &kv, &["-n", "0", "get", "a"], None);
    same(&redis, &kv, &["-n", "3", "dbsize"], None);
    same(&redis, &kv, &["-n", "99", "ping"], None);
}

#[test]
fn piped_commands() {
    let redis = redis_server(&[]);
    let kv = kv_server(&[]);
    let script = b"flushall\nset k1 1\nincr k1\nlpush l a b c\nlrange l 0 -1\nmulti\nset t 1\nincr t\nexec\nget k1\nsadd s x\nsmembers s\nexpire k1 100\nttl k1\nfoo\n";
    let out = same(&redis, &kv, &[], Some(script));
    assert!(
        out.starts_with("OK\nOK\n2\n3\n"),
        "unexpected output: {out}"
    );
    same(&redis, &kv, &["--raw"], Some(script));
}

#[test]
fn mass_insertion_with_pipe_mode() {
    let kv = kv_server(&[]);
    let mut proto = Vec::new();
    for i in 0..1000 {
        let (k, v) = (format!("key{i}"), format!("value{i}"));
        proto.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                k.len(),
                v.len()
            )
            .as_bytes(),
        );
    }
    let out = cli(kv.port, &["--pipe"], Some(&proto));
    assert!(
        out.contains("errors: 0, replies: 1000"),
        "pipe mode output: {out}"
    );
    assert_eq!(cli(kv.port, &["dbsize"], None), "1000\n");
    assert_eq!(cli(kv.port, &["get", "key999"], None), "value999\n");
}

#[test]
fn info_and_hints_look_like_redis() {
    let kv = kv_server(&[]);
    let info = cli(kv.port, &["info", "server"], None);
    assert!(info.contains("redis_version:7.0.15"), "{info}");
    assert!(info.contains("redis_mode:standalone"), "{info}");
    let docs = cli(kv.port, &["command", "docs", "get"], None);
    assert!(docs.contains("summary"), "{docs}");
    let count = cli(kv.port, &["command", "count"], None);
    let n: i64 = count.trim().parse().expect("count");
    assert!(n > 150, "only {n} commands");
}

/// redis-cli's `help` is built from COMMAND DOCS: syntax line, summary,
/// since and group must print as they do against redis-server.
#[test]
fn help_from_command_docs_matches_redis() {
    let redis = redis_server(&[]);
    let kv = kv_server(&[]);
    for cmd in ["set", "zadd", "getex", "lpos", "bitcount"] {
        let help = same(&redis, &kv, &["help", cmd], None);
        assert!(help.contains("summary:"), "{help}");
    }
    same(&redis, &kv, &["help", "object", "encoding"], None);
}
