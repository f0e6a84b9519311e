//! The seed recipes in examples/ (written with the zookeeper-client crate)
//! run against coord-server and succeed.

mod common;
use common::{run_limited, Coord};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// `cargo test` builds the examples next to the test binaries' deps dir.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(path.exists(), "{} not built (run through cargo test)", path.display());
    path
}

fn run_example(name: &str, extra: &[&str]) -> String {
    let server = Coord::start("");
    let out = run_limited(
        Command::new(example(name)).args(["--server", &server.hosts()]).args(extra),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{name} failed: {}\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn config_watch_sees_create_change_and_delete() {
    let out = run_example("config_watch", &[]);
    assert!(out.contains("watcher: Value(\"v3\")") && out.contains("saw create, two changes and delete"), "{out}");
}

#[test]
fn fair_lock_serializes_its_workers() {
    let out = run_example("fair_lock", &["--workers", "6", "--rounds", "3"]);
    assert!(out.contains("fair_lock: 18 acquisitions by 6 workers, never two at once"), "{out}");
}
