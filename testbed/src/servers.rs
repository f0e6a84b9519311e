//! How a real server in the testbed runs the project's servers, shared by the
//! demo (xtask) and the end-to-end tests.

/// The command line for kv-server at `program`: `port`, data in `dir`, no
/// snapshots. Clients reach it through the VIP from other hosts without a
/// password; as with redis-server, that needs protected mode off.
pub fn kv_server_argv(program: &str, port: u16, dir: &str) -> Vec<String> {
    [
        program,
        "--port",
        &port.to_string(),
        "--protected-mode",
        "no",
        "--save",
        "",
        "--dir",
        dir,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
