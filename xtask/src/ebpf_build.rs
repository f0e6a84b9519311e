//! How the eBPF object is built. One file, used twice: by `cargo xtask
//! build-ebpf` and, through `#[path]`, by lb-ctl's build script, so the two
//! can never disagree on flags.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target the XDP programs are compiled for.
pub const BPF_TARGET: &str = "bpfel-unknown-none";

/// The XDP objects lb-ebpf produces: `balancer`, and `decap` (with `pass`).
pub const OBJECTS: [&str; 2] = ["balancer", "decap"];

/// Builds lb-ebpf with the nightly toolchain and bpf-linker into
/// `target_dir`, and returns the folder that holds the [`OBJECTS`].
///
/// The nested cargo gets its own target directory: the outer cargo holds
/// the lock on the workspace one while build scripts run.
pub fn build_ebpf_object(workspace_root: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    let cargo_bin = cargo_home().join("bin");
    let path = match std::env::var_os("PATH") {
        Some(p) => {
            let mut dirs = vec![cargo_bin.clone()];
            dirs.extend(std::env::split_paths(&p));
            std::env::join_paths(dirs).map_err(|e| e.to_string())?
        }
        None => cargo_bin.clone().into_os_string(),
    };
    let mut cmd = Command::new("rustup");
    cmd.current_dir(workspace_root)
        .args([
            "run",
            "nightly",
            "cargo",
            "build",
            "--release",
            "-p",
            "lb-ebpf",
        ])
        .args(["--target", BPF_TARGET, "-Z", "build-std=core"])
        .arg("--target-dir")
        .arg(target_dir)
        .env("PATH", path)
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            "-Cdebuginfo=2\x1f-Clink-arg=--btf\x1f-Ctarget-cpu=v3",
        );
    // Variables a parent cargo or rustup sets that would pin the nested
    // build to the stable toolchain or to the host's flags.
    for var in [
        "RUSTC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTFLAGS",
        "RUSTUP_TOOLCHAIN",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building lb-ebpf failed ({status}); run `cargo xtask setup` first \
             (it installs rust-src for nightly and bpf-linker)"
        ));
    }
    Ok(target_dir.join(BPF_TARGET).join("release"))
}

/// `$CARGO_HOME`, or `~/.cargo`.
pub fn cargo_home() -> PathBuf {
    if let Some(h) = std::env::var_os("CARGO_HOME") {
        return PathBuf::from(h);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cargo")
}
