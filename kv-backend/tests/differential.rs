//! Runs the command sequences in tests/cases against redis-server 7.0.15 and
//! kv-server with redis-py, and requires identical replies.

mod common;
use common::*;

fn run_cases(files: &[&str]) {
    let cases: Vec<String> = files.iter().map(|f| format!("cases/{f}")).collect();
    python_vs_redis("diff.py", &cases, "commands matched");
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
    python_vs_redis("dump_cross.py", &[], "keys restored identically");
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
    python_vs_redis("scenarios.py", &[], "scenarios matched");
}
