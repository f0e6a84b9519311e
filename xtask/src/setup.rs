//! `cargo xtask setup`: installs, once and idempotently, what a fresh
//! machine lacks (DESIGN.md §2). Each step checks before it acts, so a
//! second run costs a few seconds.

use crate::ebpf_build::cargo_home;
use crate::util::{run as run_cmd, succeeds};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// Debian packages the tests, the demo and the benchmarks use.
const APT_PACKAGES: &[&str] = &[
    "redis-server",
    "redis-tools",
    "zookeeper",
    "keepalived",
    "haproxy",
    "ethtool",
    "iproute2",
    "iputils-ping",
    "tcpdump",
    "bpftool",
    "netcat-openbsd",
    "gcc",
];

/// PyPI packages of the real-client tests, as (import name, pip spec).
const PIP_PACKAGES: &[(&str, &str)] = &[("redis", "redis"), ("kazoo", "kazoo")];

const BPF_LINKER_VERSION: &str = "0.13.0";

pub fn run(_root: &Path) -> Result<()> {
    apt_packages()?;
    pip_packages()?;
    rust_src()?;
    bpf_linker()?;
    Ok(())
}

fn apt_packages() -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("setup: installing {}", missing.join(" "));
    run_cmd(Command::new("apt-get").arg("update").arg("-qq"))?;
    run_cmd(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn pip_packages() -> Result<()> {
    let missing: Vec<&str> = PIP_PACKAGES
        .iter()
        .filter(|(module, _)| {
            !succeeds(Command::new("python3").args(["-c", &format!("import {module}")]))
        })
        .map(|(_, spec)| *spec)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("setup: pip installing {}", missing.join(" "));
    run_cmd(
        Command::new("python3")
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args(&missing),
    )
}

fn rust_src() -> Result<()> {
    let out = Command::new("rustup")
        .args(["component", "list", "--installed", "--toolchain", "nightly"])
        .output()
        .context("rustup")?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.starts_with("rust-src"))
    {
        return Ok(());
    }
    eprintln!("setup: adding rust-src to nightly");
    run_cmd(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", "nightly"]))
}

/// bpf-linker must link the same libLLVM as the nightly rustc; see
/// DESIGN.md §2. The LLVM folder lives under CARGO_HOME because the binary
/// finds libLLVM through an rpath to it.
fn bpf_linker() -> Result<()> {
    let home = cargo_home();
    let linker = home.join("bin").join("bpf-linker");
    let sysroot = String::from_utf8(
        Command::new("rustc")
            .args(["+nightly", "--print", "sysroot"])
            .output()
            .context("rustc +nightly")?
            .stdout,
    )?;
    let lib_dir = Path::new(sysroot.trim()).join("lib");
    let llvm = std::fs::read_dir(&lib_dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("libLLVM.so.") && n.contains("-rust-"))
        .with_context(|| format!("no libLLVM.so.*-rust-* in {}", lib_dir.display()))?;
    // libLLVM.so.22.1-rust-1.97.0-nightly → 22
    let major: String = llvm["libLLVM.so.".len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if major.is_empty() {
        bail!("cannot read the LLVM major version from {llvm}");
    }
    let prefix = home.join(format!("bpf-llvm-{major}"));
    let stamp = prefix.join("installed-for");
    let wanted_stamp = format!("{llvm} bpf-linker {BPF_LINKER_VERSION}");
    let up_to_date = std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted_stamp.as_str())
        && succeeds(Command::new(&linker).arg("--version"));
    if up_to_date {
        return Ok(());
    }
    let prefix_lib = prefix.join("lib");
    std::fs::create_dir_all(&prefix_lib)?;
    let target = lib_dir.join(&llvm);
    for name in ["libLLVM.so".to_string(), llvm.clone()] {
        let link = prefix_lib.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link)?;
    }
    eprintln!("setup: building bpf-linker {BPF_LINKER_VERSION} against {llvm} (about a minute)");
    run_cmd(
        Command::new("cargo")
            .args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION])
            .args([
                "--no-default-features",
                "--features",
                &format!("llvm-{major}"),
            ])
            .arg("--force")
            .arg("--root")
            .arg(&home)
            .env("LLVM_PREFIX", &prefix)
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO_TARGET_DIR"),
    )?;
    std::fs::write(&stamp, wanted_stamp)?;
    Ok(())
}
