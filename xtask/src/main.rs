//! `cargo xtask <command>`: the project's task runner.
//!
//! setup       install what a fresh machine lacks (idempotent)
//! build-ebpf  build the XDP object
//! test        setup, then every test of the workspace
//! demo        setup, then the testbed demo
//! testbed     up [--mode dr|tun|nat|all] | down | exec NODE -- CMD
//! bench       dataplane | kv | coord | e2e | failover

mod bench_coord;
mod bench_e2e;
mod bench_kv;
mod demo;
mod ebpf_build;
mod setup;
mod testbed_cmd;
mod util;

use anyhow::{bail, Result};
use std::path::PathBuf;

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn usage() -> &'static str {
    "usage: cargo xtask <setup | build-ebpf | test [--fast|--e2e] | demo | testbed up|down|exec | bench WHAT>"
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let Some(cmd) = args.first() else {
        bail!("{}", usage());
    };
    let rest = &args[1..];
    match cmd.as_str() {
        "setup" => setup::run(&root),
        "build-ebpf" => {
            let target_dir = root.join("target").join("ebpf");
            let obj =
                ebpf_build::build_ebpf_object(&root, &target_dir).map_err(anyhow::Error::msg)?;
            for name in ebpf_build::OBJECTS {
                println!("{}", obj.join(name).display());
            }
            Ok(())
        }
        "demo" => demo::run(&root),
        "testbed" => testbed_cmd::run(&root, rest),
        "test" => {
            setup::run(&root)?;
            run_tests(&root, rest)
        }
        "bench" => match rest.first().map(String::as_str) {
            Some("dataplane") => {
                setup::run(&root)?;
                util::cargo(
                    &root,
                    &[
                        "run",
                        "--quiet",
                        "--release",
                        "-p",
                        "lb-ctl",
                        "--example",
                        "bench_dataplane",
                    ],
                )
            }
            Some("kv") => bench_kv::run(&root),
            Some("e2e") => bench_e2e::run(&root),
            Some("failover") => {
                // 10 failovers at advert_int 0.1 s and 1 s between two lbd
                // directors in namespaces; one `failover:` line per interval.
                setup::run(&root)?;
                util::cargo(&root, &["build", "--release", "--bins"])?;
                util::cargo(
                    &root,
                    &[
                        "test",
                        "--release",
                        "-q",
                        "-p",
                        "testbed",
                        "--test",
                        "e2e_lbd",
                        "--",
                        "--ignored",
                        "bench_failover",
                        "--nocapture",
                        "--test-threads=1",
                    ],
                )
            }
            Some("coord") => bench_coord::run(&root),
            _ => bail!("usage: cargo xtask bench dataplane|kv|coord|e2e|failover"),
        },
        other => bail!("unknown command `{other}`\n{}", usage()),
    }
}

/// Runs the workspace's tests. `--fast` leaves out the slow end-to-end
/// suites, `--e2e` runs only them.
fn run_tests(root: &std::path::Path, rest: &[String]) -> Result<()> {
    let fast = rest.iter().any(|a| a == "--fast");
    let e2e_only = rest.iter().any(|a| a == "--e2e");
    if !e2e_only {
        util::cargo(
            root,
            &[
                "test",
                "--release",
                "--workspace",
                "--exclude",
                "lb-ebpf",
                "--exclude",
                "testbed",
            ],
        )?;
    }
    if !fast {
        // The end-to-end suites run the other crates' servers.
        util::cargo(root, &["build", "--release", "--bins"])?;
        util::cargo(
            root,
            &[
                "test",
                "--release",
                "-p",
                "testbed",
                "--",
                "--test-threads=1",
            ],
        )?;
    }
    Ok(())
}

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}
