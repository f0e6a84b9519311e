//! Crash tests: kill -9 in the middle of a write load, a torn log tail,
//! snapshots with log rolling, and sessions that outlive a restart.

mod common;
use common::Coord;
use coord::client::Client;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Writers create `/crash/w<k>-<i>` and set `/crash/last<k>` to i; each
/// records what the server acknowledged. The server is killed while they run.
#[test]
fn every_acknowledged_write_survives_kill_9() {
    let mut server = Coord::start("");
    let rt = rt();
    let addr = server.hosts();
    let acked: Arc<Mutex<BTreeMap<usize, Vec<usize>>>> = Arc::default();
    let max_zxid = Arc::new(Mutex::new(0i64));
    rt.block_on(async {
        let mut setup = Client::connect(&addr, 10_000).await.unwrap();
        setup.create("/crash", b"", 0).await.unwrap().unwrap();
        for k in 0..8 {
            setup.create(&format!("/crash/last{k}"), b"none", 0).await.unwrap().unwrap();
        }
    });
    let writers: Vec<_> = (0..8)
        .map(|k| {
            let (addr, acked, max_zxid) = (addr.clone(), acked.clone(), max_zxid.clone());
            rt.spawn(async move {
                let mut c = Client::connect(&addr, 10_000).await.unwrap();
                for i in 0..2000 {
                    let Ok(Ok(_)) = c.create(&format!("/crash/w{k}-{i}"), format!("value {i}").as_bytes(), 0).await
                    else {
                        break;
                    };
                    let Ok(Ok(stat)) = c.set_data(&format!("/crash/last{k}"), i.to_string().as_bytes(), -1).await
                    else {
                        break;
                    };
                    acked.lock().unwrap().entry(k).or_default().push(i);
                    let mut m = max_zxid.lock().unwrap();
                    *m = (*m).max(stat.mzxid);
                }
            })
        })
        .collect();
    // Let a few hundred writes through, then crash.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().values().map(Vec::len).sum::<usize>() < 400 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill9();
    rt.block_on(async {
        for w in writers {
            let _ = tokio::time::timeout(Duration::from_secs(10), w).await;
        }
    });
    let acked = acked.lock().unwrap().clone();
    let total: usize = acked.values().map(Vec::len).sum();
    assert!(total >= 400, "the load ran ({total} acknowledged writes)");
    server.restart();
    rt.block_on(async {
        let mut c = Client::connect(&addr, 10_000).await.unwrap();
        for (k, done) in &acked {
            for i in done {
                let got = c.get_data(&format!("/crash/w{k}-{i}"), false).await.unwrap();
                assert_eq!(
                    got.map(|(d, _)| d),
                    Ok(format!("value {i}").into_bytes()),
                    "acknowledged create w{k}-{i} lost"
                );
            }
            // The last acknowledged value, or a later one still in flight when the server died.
            let (data, _) = c.get_data(&format!("/crash/last{k}"), false).await.unwrap().unwrap();
            let value: usize = String::from_utf8(data).unwrap().parse().unwrap();
            assert!(value >= *done.last().unwrap(), "acknowledged setData on last{k} lost");
        }
        // zxids keep growing across the restart.
        let created = c.create("/crash/after", b"", 0).await.unwrap().unwrap();
        let stat = c.exists(&created, false).await.unwrap().unwrap();
        assert!(stat.czxid > *max_zxid.lock().unwrap(), "zxid went backwards after restart");
    });
}

fn log_files(server: &Coord) -> Vec<std::path::PathBuf> {
    let mut logs: Vec<_> = std::fs::read_dir(server.data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("log."))
        .collect();
    logs.sort();
    logs
}

/// The logical end of a preallocated log: the last non-zero byte.
fn used_length(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1)
}

#[test]
fn a_torn_log_tail_is_cut_and_the_server_starts() {
    let mut server = Coord::start("");
    let rt = rt();
    let addr = server.hosts();
    rt.block_on(async {
        let mut c = Client::connect(&addr, 10_000).await.unwrap();
        for i in 0..20 {
            c.create(&format!("/t{i}"), b"payload", 0).await.unwrap().unwrap();
        }
    });
    server.kill9();
    // Tear the last record: drop its final bytes (and the zero padding).
    let log = log_files(&server).pop().unwrap();
    let bytes = std::fs::read(&log).unwrap();
    let end = used_length(&bytes);
    std::fs::write(&log, &bytes[..end - 3]).unwrap();
    server.restart();
    assert!(server.log().contains("torn log tail"), "recovery reports the cut: {}", server.log());
    rt.block_on(async {
        let mut c = Client::connect(&addr, 10_000).await.unwrap();
        for i in 0..19 {
            assert!(c.exists(&format!("/t{i}"), false).await.unwrap().is_some(), "/t{i} lost");
        }
        assert!(c.exists("/t19", false).await.unwrap().is_none(), "the torn record is gone");
        c.create("/after-tear", b"", 0).await.unwrap().unwrap();
    });
    // Appending after the cut leaves a log that recovers whole.
    server.restart();
    rt.block_on(async {
        let mut c = Client::connect(&addr, 10_000).await.unwrap();
        assert!(c.exists("/after-tear", false).await.unwrap().is_some());
        assert!(c.exists("/t18", false).await.unwrap().is_some());
    });
}

#[test]
fn snapshots_roll_the_log_and_recovery_uses_both() {
    let mut server = Coord::start("snapCount=40");
    let rt = rt();
    let addr = server.hosts();
    rt.block_on(async {
        let mut c = Client::connect(&addr, 10_000).await.unwrap();
        c.create("/s", b"", 0).await.unwrap().unwrap();
        for i in 0..300 {
            c.create(&format!("/s/n{i}"), i.to_string().as_bytes(), 0).await.unwrap().unwrap();
        }
        for i in (0..300).step_by(3) {
            c.delete(&format!("/s/n{i}"), -1).await.unwrap().unwrap();
        }
    });
    // Snapshots are written in the background.
    std::thread::sleep(Duration::from_millis(300));
    let names: Vec<String> =
        std::fs::read_dir(server.data_dir()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    let snapshots = names.iter().filter(|n| n.starts_with("snapshot.") && !n.ends_with(".tmp")).count();
    assert!((1..=3).contains(&snapshots), "snapshots taken and old ones purged: {names:?}");
    assert!(log_files(&server).len() <= 5, "old logs purged: {names:?}");
    server.kill9();
    server.restart();
    rt.block_on(async {
        let mut c = Client::connect(&addr, 10_000).await.unwrap();
        let children = c.get_children("/s", false).await.unwrap().unwrap();
        assert_eq!(children.len(), 200);
        for i in 0..300 {
            let present = c.exists(&format!("/s/n{i}"), false).await.unwrap().is_some();
            assert_eq!(present, i % 3 != 0, "/s/n{i}");
        }
    });
}

#[test]
fn sessions_and_their_ephemerals_survive_a_restart_then_expire() {
    let mut server = Coord::start("");
    let rt = rt();
    let addr = server.hosts();
    let (kept, dropped) = rt.block_on(async {
        let mut kept = Client::connect(&addr, 4_000).await.unwrap();
        kept.create("/kept", b"", 1).await.unwrap().unwrap();
        let mut dropped = Client::connect(&addr, 1_000).await.unwrap();
        dropped.create("/dropped", b"", 1).await.unwrap().unwrap();
        ((kept.session_id, kept.passwd.clone()), dropped.session_id)
    });
    server.kill9();
    server.restart();
    rt.block_on(async {
        let mut c = Client::attach(&addr, 4_000, kept.0, kept.1.clone(), 0).await.unwrap();
        assert_eq!(c.session_id, kept.0, "session reattached after restart");
        assert!(c.exists("/kept", false).await.unwrap().is_some());
        // The session that never came back expires with its ephemeral.
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.exists("/dropped", false).await.unwrap().is_some() {
            assert!(Instant::now() < deadline, "session {dropped:x} never expired");
            c.ping().await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(c.exists("/kept", false).await.unwrap().is_some(), "a live session keeps its ephemeral");
    });
}
