//! Server behaviour that a differential test can't show on its own:
//! shutdown, auth, eviction, active expiry, DEBUG, the bloom filter, INFO
//! fields against redis-server, protected mode from a non-loopback address.

mod common;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn sigterm_and_shutdown_exit_cleanly() {
    let mut kv = kv_server(&[]);
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(kv.pid() as i32, libc::SIGTERM) }, 0);
    let st = kv
        .wait_exit(Duration::from_secs(5))
        .expect("exit after SIGTERM");
    assert!(st.success(), "{st:?}");

    let mut kv = kv_server(&[]);
    let mut c = Client::connect(kv.port);
    c.send_raw(b"SHUTDOWN NOSAVE\r\n").expect("send");
    assert!(
        c.read().is_err(),
        "SHUTDOWN closes the connection without a reply"
    );
    let st = kv
        .wait_exit(Duration::from_secs(5))
        .expect("exit after SHUTDOWN");
    assert!(st.success(), "{st:?}");
}

#[test]
fn inline_protocol_as_nc_sends_it() {
    let kv = kv_server(&[]);
    let mut c = Client::connect(kv.port);
    // `echo -e "flushall \n set k1 1 \n set k2 2 \n set k3 3" | nc localhost 6379`
    c.send_raw(b"flushall \n set k1 1 \n set k2 2 \n set k3 3\n")
        .expect("send");
    for _ in 0..4 {
        assert_eq!(c.read().expect("reply"), Resp::Simple("OK".into()));
    }
    c.send_raw(b"set k2 www\r\nkeys k2\r\nget \"k 2\"\r\n")
        .expect("send");
    assert_eq!(c.read().expect("reply"), Resp::Simple("OK".into()));
    assert_eq!(
        c.read().expect("reply"),
        Resp::Array(Some(vec![Resp::Bulk(Some(b"k2".to_vec()))]))
    );
    assert_eq!(c.read().expect("reply"), Resp::Bulk(None));
}

#[test]
fn requirepass_and_auth() {
    let kv = kv_server(&["--requirepass", "s3cret"]);
    let mut c = Client::connect(kv.port);
    assert_eq!(
        c.cmd(&["GET", "k"]),
        Resp::Error("NOAUTH Authentication required.".into())
    );
    assert_eq!(
        c.cmd(&["AUTH", "wrong"]),
        Resp::Error("WRONGPASS invalid username-password pair or user is disabled.".into())
    );
    assert_eq!(c.cmd(&["AUTH", "s3cret"]), Resp::Simple("OK".into()));
    assert_eq!(c.cmd(&["GET", "k"]), Resp::Bulk(None));
    let mut d = Client::connect(kv.port);
    assert!(
        matches!(d.cmd(&["HELLO", "2"]), Resp::Error(e) if e.starts_with("NOAUTH HELLO must be called"))
    );
    assert!(matches!(
        d.cmd(&["HELLO", "2", "AUTH", "default", "s3cret"]),
        Resp::Array(Some(_))
    ));
    assert_eq!(d.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

fn fill(c: &mut Client, prefix: &str, n: usize, value_len: usize, ttl: bool) -> usize {
    let value = "v".repeat(value_len);
    let mut errors = 0;
    for i in 0..n {
        let key = format!("{prefix}{i}");
        let r = if ttl {
            c.cmd(&["SET", &key, &value, "EX", "10000"])
        } else {
            c.cmd(&["SET", &key, &value])
        };
        if matches!(r, Resp::Error(_)) {
            errors += 1;
        }
    }
    errors
}

#[test]
fn allkeys_lru_stays_under_maxmemory() {
    let kv = kv_server(&["--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru"]);
    let mut c = Client::connect(kv.port);
    assert_eq!(
        fill(&mut c, "k", 12_000, 500, false),
        0,
        "allkeys-lru never refuses writes"
    );
    let used: u64 = info_field(&mut c, "memory", "used_memory")
        .parse()
        .expect("number");
    let evicted: u64 = info_field(&mut c, "stats", "evicted_keys")
        .parse()
        .expect("number");
    assert!(evicted > 1000, "evicted {evicted}");
    assert!(used <= 4 * 1024 * 1024 + 512 * 1024, "used_memory {used}");
    assert!(c.cmd(&["DBSIZE"]).as_int() < 12_000);
}

#[test]
fn noeviction_refuses_writes_but_serves_reads_and_deletes() {
    let kv = kv_server(&["--maxmemory", "3mb"]);
    let mut c = Client::connect(kv.port);
    let errors = fill(&mut c, "k", 12_000, 500, false);
    assert!(errors > 0, "noeviction never said OOM");
    assert_eq!(
        c.cmd(&["SET", "x", "y"]),
        Resp::Error("OOM command not allowed when used memory > 'maxmemory'.".into())
    );
    assert!(matches!(c.cmd(&["GET", "k1"]), Resp::Bulk(Some(_))));
    assert_eq!(c.cmd(&["DEL", "k1"]).as_int(), 1);
    assert_eq!(info_field(&mut c, "stats", "evicted_keys"), "0");
}

#[test]
fn volatile_policies_only_evict_keys_with_ttl() {
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let kv = kv_server(&["--maxmemory", "4mb", "--maxmemory-policy", policy]);
        let mut c = Client::connect(kv.port);
        assert_eq!(fill(&mut c, "keep", 2000, 500, false), 0);
        assert_eq!(
            fill(&mut c, "tmp", 8000, 500, true),
            0,
            "{policy}: writes refused while volatile keys remain"
        );
        for i in (0..2000).step_by(97) {
            assert!(
                matches!(c.cmd(&["GET", &format!("keep{i}")]), Resp::Bulk(Some(_))),
                "{policy} evicted a persistent key"
            );
        }
        assert!(
            info_field(&mut c, "stats", "evicted_keys")
                .parse::<u64>()
                .expect("n")
                > 0,
            "{policy}"
        );
    }
}

#[test]
fn other_allkeys_policies_evict() {
    for policy in ["allkeys-lfu", "allkeys-random"] {
        let kv = kv_server(&["--maxmemory", "4mb", "--maxmemory-policy", policy]);
        let mut c = Client::connect(kv.port);
        for i in 0..50 {
            assert_eq!(
                c.cmd(&["SET", &format!("hot{i}"), "x"]),
                Resp::Simple("OK".into())
            );
        }
        if policy == "allkeys-lfu" {
            for _ in 0..100 {
                for i in 0..50 {
                    c.cmd(&["GET", &format!("hot{i}")]);
                }
            }
        }
        assert_eq!(fill(&mut c, "cold", 12_000, 500, false), 0);
        assert!(
            info_field(&mut c, "stats", "evicted_keys")
                .parse::<u64>()
                .expect("n")
                > 1000,
            "{policy}"
        );
        if policy == "allkeys-lfu" {
            let alive = (0..50)
                .filter(|i| matches!(c.cmd(&["GET", &format!("hot{i}")]), Resp::Bulk(Some(_))))
                .count();
            assert!(alive >= 40, "LFU kept only {alive}/50 hot keys");
            assert!(c.cmd(&["OBJECT", "FREQ", "hot0"]).as_int() > 5);
        }
    }
}

#[test]
fn active_expiry_removes_keys_nobody_reads() {
    let kv = kv_server(&[]);
    let mut c = Client::connect(kv.port);
    for i in 0..2000 {
        c.cmd(&["SET", &format!("t{i}"), "v", "PX", "100"]);
    }
    for i in 0..100 {
        c.cmd(&["SET", &format!("p{i}"), "v"]);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.cmd(&["DBSIZE"]).as_int() > 150 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let left = c.cmd(&["DBSIZE"]).as_int();
    assert!(left <= 150, "{left} keys left");
    let expired: u64 = info_field(&mut c, "stats", "expired_keys")
        .parse()
        .expect("n");
    assert!(expired >= 1850, "expired_keys {expired}");
}

#[test]
fn debug_sleep_populate_and_idletime() {
    let kv = kv_server(&["--enable-debug-command", "yes"]);
    let mut c = Client::connect(kv.port);
    let t = Instant::now();
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0.3"]), Resp::Simple("OK".into()));
    assert!(t.elapsed() >= Duration::from_millis(280));
    assert_eq!(
        c.cmd(&["DEBUG", "POPULATE", "1000"]),
        Resp::Simple("OK".into())
    );
    assert_eq!(c.cmd(&["DBSIZE"]).as_int(), 1000);
    assert_eq!(
        c.cmd(&["GET", "key:7"]),
        Resp::Bulk(Some(b"value:7".to_vec()))
    );
    c.cmd(&["SET", "idle", "v"]);
    std::thread::sleep(Duration::from_millis(2100));
    assert!(c.cmd(&["OBJECT", "IDLETIME", "idle"]).as_int() >= 1);
    c.cmd(&["GET", "idle"]);
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "idle"]).as_int(), 0);
    let Resp::Array(Some(time)) = c.cmd(&["TIME"]) else {
        panic!("TIME")
    };
    let secs: u64 = time[0].as_text().parse().expect("seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(secs.abs_diff(now) <= 2);
    assert!(time[1].as_text().parse::<u32>().expect("micros") < 1_000_000);
}

#[test]
fn bloom_filter_commands() {
    let kv = kv_server(&[]);
    let mut c = Client::connect(kv.port);
    assert_eq!(
        c.cmd(&["BF.RESERVE", "bf", "0.01", "1000"]),
        Resp::Simple("OK".into())
    );
    assert_eq!(
        c.cmd(&["BF.RESERVE", "bf", "0.01", "1000"]),
        Resp::Error("ERR item exists".into())
    );
    assert_eq!(
        c.cmd(&["BF.RESERVE", "x", "1.5", "10"]),
        Resp::Error("ERR (0 < error rate range < 1)".into())
    );
    assert_eq!(
        c.cmd(&["BF.RESERVE", "x", "0.1", "0"]),
        Resp::Error("ERR (capacity should be larger than 0)".into())
    );
    assert_eq!(c.cmd(&["BF.ADD", "bf", "a"]).as_int(), 1);
    assert_eq!(c.cmd(&["BF.ADD", "bf", "a"]).as_int(), 0);
    assert_eq!(c.cmd(&["BF.EXISTS", "bf", "a"]).as_int(), 1);
    assert_eq!(c.cmd(&["BF.EXISTS", "bf", "zzz"]).as_int(), 0);
    assert_eq!(c.cmd(&["BF.EXISTS", "nokey", "a"]).as_int(), 0);
    assert_eq!(
        c.cmd(&["BF.MADD", "bf", "b", "c", "a"]),
        Resp::Array(Some(vec![Resp::Int(1), Resp::Int(1), Resp::Int(0)]))
    );
    assert_eq!(
        c.cmd(&["BF.MEXISTS", "bf", "b", "nope"]),
        Resp::Array(Some(vec![Resp::Int(1), Resp::Int(0)]))
    );
    assert_eq!(c.cmd(&["BF.CARD", "bf"]).as_int(), 3);
    assert_eq!(c.cmd(&["TYPE", "bf"]), Resp::Simple("MBbloom--".into()));
    let info = c.cmd(&["BF.INFO", "bf"]);
    let Resp::Array(Some(items)) = info else {
        panic!("BF.INFO: {info:?}")
    };
    assert_eq!(items[0], Resp::Simple("Capacity".into()));
    assert_eq!(items[1], Resp::Int(1000));
    assert_eq!(items[9], Resp::Int(2), "default expansion");
    assert_eq!(
        c.cmd(&["BF.INFO", "nokey"]),
        Resp::Error("ERR not found".into())
    );
    // Default filter created by BF.ADD scales past its capacity of 100.
    for i in 0..500 {
        c.cmd(&["BF.ADD", "auto", &format!("item{i}")]);
    }
    for i in 0..500 {
        assert_eq!(
            c.cmd(&["BF.EXISTS", "auto", &format!("item{i}")]).as_int(),
            1,
            "false negative"
        );
    }
    let fp = (0..2000)
        .filter(|i| c.cmd(&["BF.EXISTS", "auto", &format!("other{i}")]).as_int() == 1)
        .count();
    assert!(fp < 100, "false positive rate too high: {fp}/2000");
    let Resp::Array(Some(filters)) = c.cmd(&["BF.INFO", "auto", "FILTERS"]) else {
        panic!()
    };
    assert!(filters[0].as_int() >= 3);
    assert_eq!(
        c.cmd(&[
            "BF.INSERT",
            "ns",
            "CAPACITY",
            "2",
            "NONSCALING",
            "ITEMS",
            "a",
            "b",
            "c"
        ])
        .clone(),
        Resp::Array(Some(vec![
            Resp::Int(1),
            Resp::Int(1),
            Resp::Error("ERR non scaling filter is full".into())
        ]))
    );
    assert_eq!(
        c.cmd(&["BF.INSERT", "missing", "NOCREATE", "ITEMS", "a"]),
        Resp::Error("ERR not found".into())
    );
    c.cmd(&["SET", "str", "v"]);
    assert!(matches!(c.cmd(&["BF.ADD", "str", "a"]), Resp::Error(e) if e.starts_with("WRONGTYPE")));
}

/// `dir` moves the server into that directory at startup, as Redis does;
/// CONFIG GET shows the absolute path and a missing directory is fatal.
#[test]
fn dir_option_changes_the_working_directory() {
    let dir = std::env::temp_dir().join(format!("kv-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create dir");
    let kv = kv_server(&["--dir", &dir.to_string_lossy()]);
    let mut c = Client::connect(kv.port);
    let reply = c.cmd(&["CONFIG", "GET", "dir"]);
    let canonical = dir.canonicalize().expect("canonical dir");
    assert_eq!(
        reply,
        Resp::Array(Some(vec![
            Resp::Bulk(Some(b"dir".to_vec())),
            Resp::Bulk(Some(canonical.to_string_lossy().as_bytes().to_vec())),
        ]))
    );
    drop(kv);
    let _ = std::fs::remove_dir_all(&dir);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kv-server"))
        .args(["--port", "0", "--dir", "/nonexistent/kv-dir"])
        .output()
        .expect("run kv-server");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("FATAL CONFIG FILE ERROR") && err.contains("No such file or directory"),
        "{err}"
    );
}

/// INFO's sections and their field names, in order.
fn info_fields(c: &mut Client) -> Vec<(String, Vec<String>)> {
    let text = c.cmd(&["INFO", "everything"]).as_text();
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("# ") {
            sections.push((name.to_string(), Vec::new()));
        } else if let Some((field, _)) = line.split_once(':') {
            if let Some(last) = sections.last_mut() {
                last.1.push(field.to_string());
            }
        }
    }
    sections
}

#[test]
fn info_fields_are_a_subset_of_redis() {
    let redis = redis_server(&[]);
    let kv = kv_server(&[]);
    let mut r = Client::connect(redis.port);
    let mut k = Client::connect(kv.port);
    for c in [&mut r, &mut k] {
        // The same traffic on both, so commandstats and errorstats name the same.
        c.cmd(&["SET", "k", "v"]);
        c.cmd(&["GET", "k"]);
        c.cmd(&["LPUSH", "k", "x"]);
        c.cmd(&["CLIENT", "ID"]);
        c.cmd(&["GET"]);
    }
    let want = info_fields(&mut r);
    let got = info_fields(&mut k);
    let names = |v: &[(String, Vec<String>)]| v.iter().map(|s| s.0.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&got),
        names(&want),
        "the same sections in the same order"
    );
    for ((section, fields), (_, redis_fields)) in got.iter().zip(&want) {
        for f in fields {
            assert!(
                redis_fields.contains(f),
                "INFO {section}: {f} is not a field redis-server prints there"
            );
        }
    }
    let commandstats = k.cmd(&["INFO", "commandstats"]).as_text();
    assert!(
        commandstats.contains("cmdstat_set:calls=1,"),
        "{commandstats}"
    );
    assert!(
        commandstats.contains("cmdstat_client|id:calls=1,"),
        "{commandstats}"
    );
    assert!(
        commandstats.contains("cmdstat_get:calls=1,") && commandstats.contains("rejected_calls=1,"),
        "{commandstats}"
    );
    let latencystats = k.cmd(&["INFO", "latencystats"]).as_text();
    assert!(
        latencystats.contains("latency_percentiles_usec_set:p50="),
        "{latencystats}"
    );
    // LATENCY HISTOGRAM: the same commands, calls and shape as redis-server.
    for c in [&mut r, &mut k] {
        match c.cmd(&["LATENCY", "HISTOGRAM", "set", "client", "nosuch"]) {
            Resp::Array(Some(v)) => {
                let names: Vec<String> = v.iter().step_by(2).map(|n| n.as_text()).collect();
                assert_eq!(names, vec!["set", "client|id"]);
                for detail in v.iter().skip(1).step_by(2) {
                    let Resp::Array(Some(d)) = detail else {
                        panic!("bad histogram {detail:?}")
                    };
                    assert_eq!(d[0].as_text(), "calls");
                    assert_eq!(d[1], Resp::Int(1));
                    assert_eq!(d[2].as_text(), "histogram_usec");
                    assert!(
                        matches!(&d[3], Resp::Array(Some(b)) if b.len() == 2),
                        "{d:?}"
                    );
                }
            }
            other => panic!("bad LATENCY HISTOGRAM reply {other:?}"),
        }
    }
    let errorstats = k.cmd(&["INFO", "errorstats"]).as_text();
    assert!(
        errorstats.contains("errorstat_WRONGTYPE:count=1"),
        "{errorstats}"
    );
    assert!(errorstats.contains("errorstat_ERR:count=1"), "{errorstats}");
}

#[test]
fn instantaneous_rates_follow_traffic() {
    let kv = kv_server(&[]);
    let mut c = Client::connect(kv.port);
    let deadline = Instant::now() + Duration::from_millis(600);
    while Instant::now() < deadline {
        c.cmd(&["SET", "k", "0123456789"]);
    }
    let ops: u64 = info_field(&mut c, "stats", "instantaneous_ops_per_sec")
        .parse()
        .expect("number");
    assert!(ops > 0, "ops/sec {ops}");
    let input: f64 = info_field(&mut c, "stats", "instantaneous_input_kbps")
        .parse()
        .expect("number");
    assert!(input > 0.0, "input kbps {input}");
    let total_in: u64 = info_field(&mut c, "stats", "total_net_input_bytes")
        .parse()
        .expect("number");
    assert!(total_in > 1000, "total input {total_in}");
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), Resp::Simple("OK".into()));
    let total_in: u64 = info_field(&mut c, "stats", "total_net_input_bytes")
        .parse()
        .expect("number");
    assert!(
        total_in < 200,
        "RESETSTAT zeroes the byte counters: {total_in}"
    );
}

/// This machine's address on its default route, if it has a non-loopback one.
fn outward_ip() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // connect() on UDP sends nothing: it only picks the route.
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// What a server writes to a client from `ip` before closing, or PONG.
fn first_words_from(ip: std::net::IpAddr, port: u16) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect((ip, port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = s.write_all(b"PING\r\n");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.ends_with(b"+PONG\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn protected_mode_refuses_remote_clients_like_redis() {
    let Some(ip) = outward_ip() else {
        eprintln!("no non-loopback address: the decision is unit-tested in clients.rs");
        return;
    };
    let redis = redis_server(&["--bind", "0.0.0.0"]);
    let kv = kv_server(&["--bind", "0.0.0.0"]);
    let want = first_words_from(ip, redis.port);
    assert!(
        want.starts_with("-DENIED Redis is running in protected mode"),
        "{want}"
    );
    assert_eq!(first_words_from(ip, kv.port), want);
    let mut local = Client::connect(kv.port);
    let rejected = info_field(&mut local, "stats", "rejected_connections");
    assert_eq!(rejected, "1");
    assert_eq!(
        local.cmd(&["CONFIG", "SET", "protected-mode", "no"]),
        Resp::Simple("OK".into())
    );
    assert_eq!(first_words_from(ip, kv.port), "+PONG\r\n");
    // A password lifts the restriction too.
    local.cmd(&["CONFIG", "SET", "protected-mode", "yes"]);
    local.cmd(&["CONFIG", "SET", "requirepass", "pw"]);
    assert!(first_words_from(ip, kv.port).starts_with("-NOAUTH"));
}

/// LATENCY LATEST with the numbers replaced by whether they are plausible.
fn latency_shape(c: &mut Client, min_ms: i64) -> Vec<(String, bool)> {
    match c.cmd(&["LATENCY", "LATEST"]) {
        Resp::Array(Some(events)) => events
            .into_iter()
            .map(|e| match e {
                Resp::Array(Some(f)) if f.len() == 4 => {
                    let ok = f[2].as_int() >= min_ms && f[3].as_int() >= f[2].as_int();
                    (f[0].as_text(), ok)
                }
                other => panic!("bad LATENCY LATEST entry {other:?}"),
            })
            .collect(),
        other => panic!("bad LATENCY LATEST reply {other:?}"),
    }
}

#[test]
fn latency_monitor_records_slow_commands_like_redis() {
    let redis = redis_server(&["--enable-debug-command", "yes"]);
    let kv = kv_server(&["--enable-debug-command", "yes"]);
    for port in [redis.port, kv.port] {
        let mut c = Client::connect(port);
        // Off by default: nothing is recorded.
        c.cmd(&["DEBUG", "SLEEP", "0.03"]);
        assert_eq!(latency_shape(&mut c, 0), vec![], "port {port}");
        c.cmd(&["CONFIG", "SET", "latency-monitor-threshold", "20"]);
        c.cmd(&["DEBUG", "SLEEP", "0.03"]);
        c.cmd(&["GET", "fast-and-below-threshold"]);
        assert_eq!(
            latency_shape(&mut c, 30),
            vec![("command".to_string(), true)],
            "port {port}"
        );
        match c.cmd(&["LATENCY", "HISTORY", "command"]) {
            Resp::Array(Some(samples)) => assert_eq!(samples.len(), 1, "port {port}"),
            other => panic!("bad LATENCY HISTORY reply {other:?}"),
        }
        let doctor = c.cmd(&["LATENCY", "DOCTOR"]).as_text();
        assert!(doctor.contains("1. command: 1 latency spikes"), "{doctor}");
        assert_eq!(c.cmd(&["LATENCY", "RESET"]), Resp::Int(1));
        assert_eq!(latency_shape(&mut c, 0), vec![]);
        // The slow log saw the sleep too (default threshold 10 ms).
        match c.cmd(&["SLOWLOG", "GET", "1"]) {
            Resp::Array(Some(e)) => match &e[0] {
                Resp::Array(Some(f)) => {
                    assert!(f[2].as_int() >= 30_000, "duration {:?}", f[2]);
                    assert_eq!(
                        f[3],
                        Resp::Array(Some(vec![
                            Resp::Bulk(Some(b"DEBUG".to_vec())),
                            Resp::Bulk(Some(b"SLEEP".to_vec())),
                            Resp::Bulk(Some(b"0.03".to_vec())),
                        ]))
                    );
                }
                other => panic!("bad slowlog entry {other:?}"),
            },
            other => panic!("bad SLOWLOG GET reply {other:?}"),
        }
    }
}
