//! Runs the command sequences in tests/cases against redis-server 7.0.15 and
//! kv-server with redis-py, and requires identical replies.

mod common;
use common::*;

fn run_cases(files: &[&str]) {
    let redis = redis_server(&[]);
    let kv = kv_server(&[]);
    let mut args = vec![redis.port.to_string(), kv.port.to_string()];
    args.extend(files.iter().map(|f| format!("cases/{f}")));
    let (ok, out) = python("diff.py", &args);
    println!("{out}");
    assert!(ok, "replies differ from redis-server:\n{out}");
    assert!(
        out.contains("commands matched"),
        "diff script did not run: {out}"
    );
}

#[test]
fn strings_match_redis() {
    run_cases(&["strings.txt", "bitmap.txt"]);
}

#[test]
fn bitfield_matches_redis() {
    run_cases(&["bitfield.txt"]);
}

#[test]
fn lcs_matches_redis() {
    run_cases(&["lcs.txt"]);
}

#[test]
fn keyspace_and_expiry_match_redis() {
    run_cases(&["keys.txt"]);
}

#[test]
fn lists_hashes_sets_match_redis() {
    run_cases(&["lists.txt", "hashes.txt", "sets.txt"]);
}

#[test]
fn sorted_sets_match_redis() {
    run_cases(&["zsets.txt"]);
}

#[test]
fn server_transactions_and_resp3_match_redis() {
    run_cases(&["server.txt", "tx.txt", "resp3.txt"]);
}

#[test]
fn copy_sort_dump_restore_match_redis() {
    run_cases(&["generic.txt"]);
}

#[test]
fn dump_payloads_restore_across_servers() {
    let redis = redis_server(&[]);
    let kv = kv_server(&[]);
    let (ok, out) = python(
        "dump_cross.py",
        &[redis.port.to_string(), kv.port.to_string()],
    );
    println!("{out}");
    assert!(ok, "DUMP/RESTORE round trips differ:\n{out}");
    assert!(
        out.contains("keys restored identically"),
        "round-trip script did not run: {out}"
    );
}

#[test]
fn admin_commands_match_redis() {
    run_cases(&["admin.txt"]);
}

#[test]
fn memory_commands_match_redis() {
    run_cases(&["memory.txt"]);
}

#[test]
fn multi_client_behaviour_matches_redis() {
    let redis = redis_server(&[]);
    let kv = kv_server(&[]);
    let (ok, out) = python(
        "scenarios.py",
        &[redis.port.to_string(), kv.port.to_string()],
    );
    println!("{out}");
    assert!(ok, "multi-client scenarios differ:\n{out}");
    assert!(
        out.contains("scenarios matched"),
        "scenario script did not run: {out}"
    );
}
