//! keepalived's notify scripts: notify_master / notify_backup /
//! notify_fault with no arguments, and `notify` with
//! `INSTANCE <name> <STATE> <priority>`. They run in the background; a
//! failing script is logged, never fatal.

use super::config::VrrpInstance;
use super::vrrp::machine::State;

pub fn transition(vi: &VrrpInstance, state: State, priority: u8) {
    let specific = match state {
        State::Master => vi.notify_master.as_deref(),
        State::Backup => vi.notify_backup.as_deref(),
        State::Fault => vi.notify_fault.as_deref(),
        State::Init => None,
    };
    if let Some(script) = specific {
        spawn(script, &[]);
    }
    if let Some(script) = vi.notify.as_deref() {
        let name = vi.display_name();
        let prio = priority.to_string();
        spawn(script, &["INSTANCE", &name, state.name(), &prio]);
    }
}

/// Runs `script` (a command line, as in keepalived.conf) with `args`
/// appended as separate words.
pub fn spawn(script: &str, args: &[&str]) {
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("{script} \"$@\""))
        .arg("lbd-notify")
        .args(args);
    let line = format!("{script} {}", args.join(" "));
    match cmd.spawn() {
        Ok(mut child) => {
            tokio::spawn(async move {
                match child.wait().await {
                    Ok(s) if s.success() => log::info!("notify `{line}` done"),
                    Ok(s) => log::warn!("notify `{line}` exited with {s}"),
                    Err(e) => log::warn!("notify `{line}`: {e}"),
                }
            });
        }
        Err(e) => log::warn!("notify `{line}` did not start: {e}"),
    }
}
