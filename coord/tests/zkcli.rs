//! zkCli.sh from Debian's zookeeper package, driven non-interactively (the
//! commands piped to its stdin), against ZooKeeper 3.8 and coord-server.

mod common;
use common::{run_limited_with_input, Coord, Zookeeper};
use std::process::Command;
use std::time::Duration;

const SCRIPT: &str = "create /cli hello
create -s /cli/seq- a
create -s /cli/seq- b
create -e /cli/eph e
ls /cli
get -s /cli
set /cli world
set -v 0 /cli stale
get /cli
stat /cli
getAcl /cli
delete /cli
delete /cli/seq-0000000000
ls -s /cli
deleteall /cli
ls /
get /nope
quit
";

/// Runs SCRIPT through zkCli.sh; returns its output without the JVM's
/// logging noise, the wall-clock times, and the watcher's banner and its
/// "Closed" event: zkCli prints those from another thread while the JVM
/// exits, so whether and where they appear is a race in zkCli itself.
fn zkcli(port: u16) -> String {
    let out = run_limited_with_input(
        Command::new("/usr/share/zookeeper/bin/zkCli.sh").args(["-server", &format!("127.0.0.1:{port}")]),
        SCRIPT.as_bytes(),
        Duration::from_secs(60),
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .filter(|l| {
            !l.trim().is_empty()
                && !l.starts_with("SLF4J")
                && !l.starts_with("ctime")
                && !l.starts_with("mtime")
                && !l.starts_with("Connecting to")
                && !l.contains("JLine")
                && *l != "WATCHER::"
                && !l.starts_with("WatchedEvent state:Closed")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn zkcli_sees_the_same_as_against_zookeeper() {
    let zk = Zookeeper::start("");
    let ours = Coord::start("");
    let theirs = zkcli(zk.port);
    let mine = zkcli(ours.port);
    for (a, b) in theirs.lines().zip(mine.lines()) {
        assert_eq!(a, b, "ZooKeeper's zkCli said {a:?}, ours {b:?}\n--- ours\n{mine}\n--- theirs\n{theirs}");
    }
    assert_eq!(theirs.lines().count(), mine.lines().count(), "--- ours\n{mine}\n--- theirs\n{theirs}");
    for expected in [
        "Created /cli",
        "Created /cli/seq-0000000000",
        "[eph, seq-0000000000, seq-0000000001]",
        "hello",
        "world",
        "Node not empty: /cli",
        "[zookeeper]",
        "Node does not exist: /nope",
    ] {
        assert!(mine.lines().any(|l| l == expected), "zkCli output lacks {expected:?}:\n{mine}");
    }
}
