//! VIP ownership, made safe against SIGKILL.
//!
//! keepalived leaves its VIPs configured when killed with -9, and then two
//! hosts answer for the VIP. lbd starts a watchdog process (its own
//! binary, `lbd --watchdog`) whose stdin is a pipe from lbd. lbd writes
//! `add IFACE ADDR/LEN` before it adds a VIP and `del ...` after it removes
//! one. However lbd dies, the kernel closes the pipe; the watchdog reads
//! EOF, removes every VIP still held, and exits. No polling, no pid reuse
//! race. lbd also removes its configured VIPs at start (stale after a
//! crash of both processes).

use super::config::Cidr;
use crate::netlink;
use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

pub struct VipOwner {
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
}

impl VipOwner {
    /// No watchdog (tests of the library, or `--no-watchdog`).
    pub fn unguarded() -> VipOwner {
        VipOwner {
            watchdog: Mutex::new(None),
        }
    }

    /// Starts `exe --watchdog` as the VIPs' guardian.
    pub fn with_watchdog(exe: &Path) -> std::io::Result<VipOwner> {
        let mut child = Command::new(exe)
            .arg("--watchdog")
            .stdin(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("stdin was piped");
        Ok(VipOwner {
            watchdog: Mutex::new(Some((child, stdin))),
        })
    }

    fn tell(&self, line: &str) {
        let mut guard = self.watchdog.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, stdin)) = guard.as_mut() {
            if let Err(e) = writeln!(stdin, "{line}").and_then(|_| stdin.flush()) {
                log::error!("VIP watchdog is gone ({e}); VIPs are not guarded against a crash");
            }
        }
    }

    /// Adds a VIP (idempotent). The watchdog hears of it first.
    pub fn add(&self, iface: &str, vip: &Cidr) -> Result<(), String> {
        self.tell(&format!("add {iface} {vip}"));
        netlink::add_ipv4(iface, vip.addr, vip.prefix_len)
            .map_err(|e| format!("add {vip} to {iface}: {e}"))
    }

    /// Removes a VIP (idempotent), then tells the watchdog.
    pub fn del(&self, iface: &str, vip: &Cidr) -> Result<(), String> {
        let result = netlink::del_ipv4(iface, vip.addr, vip.prefix_len)
            .map_err(|e| format!("remove {vip} from {iface}: {e}"));
        if result.is_ok() {
            self.tell(&format!("del {iface} {vip}"));
        }
        result
    }

    /// Ends the watchdog after a clean shutdown (every VIP removed).
    pub fn close(&self) {
        let taken = self
            .watchdog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((mut child, stdin)) = taken {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

/// The watchdog's main: track the VIPs lbd holds, remove them on EOF.
/// Interrupts are ignored: a Ctrl-C to the terminal's process group must
/// not kill the guardian before lbd's own cleanup.
pub fn watchdog_main(input: impl BufRead) -> i32 {
    for sig in [libc::SIGINT, libc::SIGHUP, libc::SIGTERM, libc::SIGPIPE] {
        // SAFETY: setting a signal to SIG_IGN is always sound.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
    }
    let mut held: BTreeSet<(String, String)> = BTreeSet::new();
    for line in input.lines() {
        let Ok(line) = line else { break };
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("add"), Some(iface), Some(vip)) => {
                held.insert((iface.into(), vip.into()));
            }
            (Some("del"), Some(iface), Some(vip)) => {
                held.remove(&(iface.to_string(), vip.to_string()));
            }
            _ => eprintln!("lbd watchdog: ignoring `{line}`"),
        }
    }
    let mut status = 0;
    for (iface, vip) in held {
        let Ok(cidr) = Cidr::try_from(vip.clone()) else {
            continue;
        };
        match netlink::del_ipv4(&iface, cidr.addr, cidr.prefix_len) {
            Ok(()) => eprintln!("lbd watchdog: lbd is gone; removed {vip} from {iface}"),
            Err(e) => {
                eprintln!("lbd watchdog: cannot remove {vip} from {iface}: {e}");
                status = 1;
            }
        }
    }
    status
}
