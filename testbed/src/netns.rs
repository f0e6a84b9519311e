//! Network namespaces: create, delete, list, run code or commands inside them.

use std::collections::hash_map::RandomState;
use std::ffi::OsStr;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::run_checked;

/// Where `ip netns add` puts its bind mounts.
pub const NETNS_DIR: &str = "/run/netns";

/// Prefix of the names [`random_prefix`] makes.
pub const DEFAULT_PREFIX_STEM: &str = "lbt";

pub fn netns_path(name: &str) -> PathBuf {
    PathBuf::from(NETNS_DIR).join(name)
}

/// A command that runs `program` inside namespace `netns`.
///
/// Uses `nsenter --net=` rather than `ip netns exec`: the latter remounts /sys, which hides
/// /sys/fs/bpf (the pinned BPF maps) from the command. nsenter execs the program directly, so
/// the child's pid is the program's pid.
pub fn command_in(netns: &str, program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net={}", netns_path(netns).display()))
        .arg("--")
        .arg(program);
    cmd
}

/// Checks a prefix or namespace name: non-empty, short, and only `[a-z0-9_-]`, so it is safe in
/// paths and command lines.
pub fn validate_name(what: &str, name: &str) -> Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if name.is_empty() || name.len() > 40 || !ok_chars {
        bail!("invalid {what} {name:?}: use 1 to 40 characters from [a-z0-9_-]");
    }
    Ok(())
}

pub fn add_netns(name: &str) -> Result<()> {
    validate_name("namespace name", name)?;
    run_checked(Command::new("ip").args(["netns", "add", name]))?;
    Ok(())
}

/// Kills every process still inside the namespace, then deletes it. Deleting the namespace
/// destroys its veths (and with them their peers in other namespaces).
pub fn delete_netns(name: &str) -> Result<()> {
    kill_processes_in(name)?;
    run_checked(Command::new("ip").args(["netns", "delete", name]))?;
    Ok(())
}

/// Pids of the processes whose network namespace is `name`.
pub fn pids_in_netns(name: &str) -> Result<Vec<u32>> {
    let out = run_checked(Command::new("ip").args(["netns", "pids", name]))?;
    out.split_whitespace()
        .map(|p| {
            p.parse()
                .with_context(|| format!("bad pid {p:?} from ip netns pids"))
        })
        .collect()
}

/// SIGKILLs every process in the namespace (never ourselves). Processes we spawned are reaped
/// by their owner; strangers are reaped by init.
fn kill_processes_in(name: &str) -> Result<()> {
    let me = std::process::id();
    for pid in pids_in_netns(name)? {
        if pid != me {
            // SAFETY: plain syscall; a pid that already exited just yields ESRCH.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    }
    Ok(())
}

/// Names of the namespaces under /run/netns that start with `prefix`, sorted.
pub fn list_namespaces_with_prefix(prefix: &str) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(NETNS_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).context(NETNS_DIR),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Deletes every namespace whose name starts with `prefix` (killing what runs inside), for
/// leftovers of runs that could not clean up (SIGKILL, power loss). Returns the names deleted.
/// `cleanup_prefix("lbt")` removes every run's leftovers, including those of runs still going.
pub fn cleanup_prefix(prefix: &str) -> Result<Vec<String>> {
    validate_name("prefix", prefix)?;
    let names = list_namespaces_with_prefix(prefix)?;
    let mut errors = Vec::new();
    for name in &names {
        if let Err(e) = delete_netns(name) {
            errors.push(format!("{name}: {e:#}"));
        }
    }
    if !errors.is_empty() {
        bail!(
            "cleanup of {prefix:?} left namespaces: {}",
            errors.join("; ")
        );
    }
    Ok(names)
}

/// A fresh run prefix such as "lbt3fa9c", not used by any existing namespace.
pub fn random_prefix() -> Result<String> {
    // RandomState is seeded randomly per process; mixing in pid, time and the attempt number
    // gives distinct values across threads and processes without a rand dependency.
    for attempt in 0..100u32 {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_u32(attempt);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        let prefix = format!("{DEFAULT_PREFIX_STEM}{:05x}", hasher.finish() & 0xf_ffff);
        if list_namespaces_with_prefix(&prefix)?.is_empty() {
            return Ok(prefix);
        }
    }
    bail!("no free namespace prefix found after 100 tries")
}

/// Runs `f` on a dedicated thread that has joined the network namespace `netns`, and returns
/// its result. Sockets, netlink handles and XDP attachments made inside `f` belong to that
/// namespace, and stay there after `f` returns (a socket created here may be used from any
/// thread). A panic in `f` is re-raised in the caller.
pub fn in_netns<F, R>(netns: &str, f: F) -> Result<R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let path = netns_path(netns);
    let file = File::open(&path).with_context(|| format!("open {}", path.display()))?;
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || -> Result<R> {
            // SAFETY: setns on a valid fd; it only changes this (short-lived) thread's netns.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                let err = std::io::Error::last_os_error();
                return Err(err).with_context(|| format!("setns into {}", path.display()));
            }
            drop(file);
            Ok(f())
        });
        match worker.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Writes `/proc/sys/<key with dots as slashes>` in the calling thread's network namespace
/// (use inside [`in_netns`]). Net sysctls are resolved per thread, so this is what `sysctl -w`
/// would do in that namespace, without starting a process.
pub fn write_sysctl(key: &str, value: &str) -> Result<()> {
    let path = sysctl_path(key)?;
    std::fs::write(&path, value).with_context(|| format!("sysctl {key}={value}"))
}

pub fn read_sysctl(key: &str) -> Result<String> {
    let path = sysctl_path(key)?;
    let value = std::fs::read_to_string(&path).with_context(|| format!("sysctl {key}"))?;
    Ok(value.trim().to_string())
}

fn sysctl_path(key: &str) -> Result<PathBuf> {
    if key.is_empty() || key.contains("..") || key.contains('/') {
        bail!("invalid sysctl key {key:?}");
    }
    Ok(PathBuf::from("/proc/sys").join(key.replace('.', "/")))
}
