//! Command metadata against redis-server 7.0.15: COMMAND INFO, DOCS, LIST
//! and COUNT for every command kv-server implements (tests/py/command_meta.py),
//! and COMMAND GETKEYS / GETKEYSANDFLAGS on a range of commands
//! (tests/cases/command.txt).

mod common;
use common::*;

#[test]
fn command_info_docs_list_match_redis() {
    python_vs_redis("command_meta.py", &[], "metadata checks matched");
}

#[test]
fn command_getkeys_matches_redis() {
    python_vs_redis(
        "diff.py",
        &["cases/command.txt".to_string()],
        "commands matched",
    );
}
