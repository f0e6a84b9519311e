//! Four-letter words on the client port, and zoo.cfg's whitelist.

mod common;
use common::{four_letter, run_limited, Coord};
use std::process::Command;
use std::time::Duration;

#[test]
fn ruok_through_nc_answers_imok() {
    let server = Coord::start("");
    let out = run_limited(
        Command::new("sh").arg("-c").arg(format!("echo ruok | nc 127.0.0.1 {}", server.port)),
        Duration::from_secs(20),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "imok");
}

#[test]
fn every_word_answers_in_zookeeper_format() {
    let server = Coord::start("");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _client = rt.block_on(async {
        let mut c = coord::client::Client::connect(&server.hosts(), 10_000).await.unwrap();
        c.create("/e", b"", 1).await.unwrap().unwrap();
        c.get_data("/e", true).await.unwrap().unwrap();
        c
    });
    let port = server.port;
    let srvr = four_letter(port, "srvr");
    let latency = srvr.lines().find(|l| l.starts_with("Latency min/avg/max: ")).unwrap().to_string();
    let parts: Vec<f64> = latency["Latency min/avg/max: ".len()..].split('/').map(|x| x.parse().unwrap()).collect();
    assert!(
        parts.len() == 3 && parts[0] <= parts[1] + 1.0 && parts[1] <= parts[2] + 1.0 && parts[1] > 0.0,
        "{latency}"
    );
    assert!(srvr.starts_with("Zookeeper version: "), "{srvr}");
    for field in [
        "Latency min/avg/max:",
        "Received:",
        "Sent:",
        "Connections: 1",
        "Outstanding:",
        "Zxid: 0x",
        "Mode: standalone",
        "Node count: 5",
    ] {
        assert!(srvr.contains(field), "srvr lacks {field}: {srvr}");
    }
    let stat = four_letter(port, "stat");
    assert!(stat.contains("Clients:\n /127.0.0.1:"), "{stat}");
    assert!(four_letter(port, "cons").contains("/127.0.0.1:"));
    let mntr = four_letter(port, "mntr");
    assert!(mntr.contains("zk_server_state\tstandalone\n") && mntr.contains("zk_ephemerals_count\t1\n"), "{mntr}");
    let conf = four_letter(port, "conf");
    assert!(conf.contains(&format!("clientPort={port}\n")) && conf.contains("tickTime=200\n"), "{conf}");
    assert!(four_letter(port, "envi").starts_with("Environment:\nzookeeper.version="));
    assert_eq!(four_letter(port, "wchs"), "1 connections watching 1 paths\nTotal watches:1\n");
    assert!(four_letter(port, "wchc").contains("\t/e\n"));
    let dump = four_letter(port, "dump");
    assert!(dump.contains("Sessions with Ephemerals (1):") && dump.contains("\t/e\n"), "{dump}");
    assert_eq!(four_letter(port, "isro"), "rw");
}

#[test]
fn the_whitelist_limits_the_words() {
    let server = Coord::start("4lw.commands.whitelist=srvr, ruok");
    assert_eq!(four_letter(server.port, "ruok"), "imok");
    assert_eq!(four_letter(server.port, "dump"), "dump is not executed because it is not in the whitelist.\n");
}

#[test]
fn myid_and_server_lines_are_read() {
    let server = Coord::start("server.3=127.0.0.1:2888:3888\nserver.4=127.0.0.2:2888:3888");
    let conf = four_letter(server.port, "conf");
    assert!(conf.contains("server.3=127.0.0.1:2888:3888") && conf.contains("serverId=0"), "{conf}");
    drop(server);
    // A myid with no server line of its own is refused, as ZooKeeper does.
    let dir = common::TempDir::new("myid");
    std::fs::write(dir.0.join("myid"), "7\n").unwrap();
    let cfg = dir.0.join("zoo.cfg");
    std::fs::write(&cfg, format!("dataDir={}\nclientPort={}\nserver.1=a:1:2\n", dir.0.display(), common::free_port()))
        .unwrap();
    let out = run_limited(Command::new(env!("CARGO_BIN_EXE_coord-server")).arg(&cfg), Duration::from_secs(20));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("myid 7 has no server.7"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn max_client_cnxns_limits_connections_per_address() {
    let server = Coord::start("maxClientCnxns=3");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(coord::client::Client::connect(&server.hosts(), 10_000).await.unwrap());
        }
        assert!(
            coord::client::Client::connect(&server.hosts(), 10_000).await.is_err(),
            "a fourth connection is refused"
        );
        held.pop();
        // The freed slot is reused once the server has seen the close.
        let mut ok = false;
        for _ in 0..50 {
            if coord::client::Client::connect(&server.hosts(), 10_000).await.is_ok() {
                ok = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(ok, "a closed connection frees its slot");
    });
}
