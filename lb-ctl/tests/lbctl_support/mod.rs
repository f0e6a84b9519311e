//! A throwaway network namespace with a balancer attached by the real
//! `lbctl` binary, for the lbctl tests. Each bed has its own namespace and
//! its own instance (pin folder), so tests run in parallel; Drop detaches,
//! removes the pins and deletes the namespace even when a test fails.
#![allow(dead_code)]

use lb_ctl::Maps;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// The balancer's address on the LAN leg.
pub const LB_ADDR: &str = "198.18.0.11";
/// DR real servers on the LAN, with the MACs their neighbour entries get.
pub const DR_REALS: [(&str, &str); 2] = [
    ("198.18.0.21", "02:00:00:00:01:15"),
    ("198.18.0.22", "02:00:00:00:01:16"),
];
/// The router towards the TUN real servers' subnet 198.18.1.0/24.
pub const ROUTER: (&str, &str) = ("198.18.0.1", "02:00:00:00:01:01");
/// NAT real servers on the back leg (198.18.2.0/24).
pub const NAT_REALS: [(&str, &str); 2] = [
    ("198.18.2.5", "02:00:00:00:02:05"),
    ("198.18.2.6", "02:00:00:00:02:06"),
];

/// What one lbctl run gave back.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "lbctl-t{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs lbctl outside any test namespace, against `instance`.
pub fn lbctl_plain(instance: &str, args: &[&str]) -> Output {
    run(
        Command::new(env!("CARGO_BIN_EXE_lbctl")),
        instance,
        args,
        None,
    )
}

fn run(mut cmd: Command, instance: &str, args: &[&str], input: Option<&str>) -> Output {
    cmd.args(args)
        .env("LBCTL_INSTANCE", instance)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn lbctl");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        if let Some(text) = input {
            stdin.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    let out = child.wait_with_output().expect("wait for lbctl");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A namespace with two veth legs, neighbour entries for the fake real
/// servers, and the balancer attached (skb mode) to the LAN leg.
pub struct Bed {
    pub ns: String,
    pub instance: String,
    pub pin_dir: PathBuf,
}

impl Bed {
    pub fn new() -> Bed {
        let name = unique_name();
        let bed = Bed {
            ns: name.clone(),
            instance: name.clone(),
            pin_dir: lb_ctl::loader::pin_dir(&name),
        };
        sh(&["ip", "netns", "add", &bed.ns]);
        let ns = bed.ns.as_str();
        sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        for (a, b, addr) in [
            ("lan0", "lan1", "198.18.0.11/24"),
            ("back0", "back1", "198.18.2.1/24"),
        ] {
            sh(&[
                "ip", "-n", ns, "link", "add", a, "type", "veth", "peer", "name", b,
            ]);
            sh(&["ip", "-n", ns, "addr", "add", addr, "dev", a]);
            sh(&["ip", "-n", ns, "link", "set", a, "up"]);
            sh(&["ip", "-n", ns, "link", "set", b, "up"]);
        }
        let neighbours = DR_REALS
            .iter()
            .chain([&ROUTER])
            .map(|&(ip, mac)| (ip, mac, "lan0"))
            .chain(NAT_REALS.iter().map(|&(ip, mac)| (ip, mac, "back0")));
        for (ip, mac, dev) in neighbours {
            sh(&[
                "ip",
                "-n",
                ns,
                "neigh",
                "replace",
                ip,
                "lladdr",
                mac,
                "nud",
                "permanent",
                "dev",
                dev,
            ]);
        }
        sh(&[
            "ip",
            "-n",
            ns,
            "route",
            "add",
            "198.18.1.0/24",
            "via",
            ROUTER.0,
        ]);
        let out = bed.lbctl(&["attach", "lan0", "--mode", "skb"]);
        assert_eq!(out.code, 0, "attach: {out:?}");
        bed
    }

    /// Runs lbctl in the namespace (nsenter keeps our /sys/fs/bpf, where
    /// `ip netns exec` would mount a fresh sysfs).
    pub fn lbctl(&self, args: &[&str]) -> Output {
        self.lbctl_with_input(args, None)
    }

    pub fn lbctl_with_input(&self, args: &[&str], input: Option<&str>) -> Output {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.ns))
            .arg(env!("CARGO_BIN_EXE_lbctl"));
        run(cmd, &self.instance, args, input)
    }

    /// lbctl under `ip netns exec`, which hides the host's bpffs.
    pub fn lbctl_ip_netns_exec(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, env!("CARGO_BIN_EXE_lbctl")]);
        run(cmd, &self.instance, args, None)
    }

    /// lbctl, asserting success; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.lbctl(args);
        assert_eq!(out.code, 0, "lbctl {args:?}: {out:?}");
        assert_eq!(out.stderr, "", "lbctl {args:?}");
        out.stdout
    }

    /// The instance's maps, opened the way lbctl opens them.
    pub fn maps(&self) -> Maps {
        Maps::from_pins(&self.pin_dir).expect("open the pinned maps")
    }

    /// The index of `iface` in the namespace.
    pub fn ifindex(&self, iface: &str) -> u32 {
        let out = Command::new("ip")
            .args(["-n", &self.ns, "-o", "link", "show", iface])
            .output()
            .expect("ip link show");
        let text = String::from_utf8_lossy(&out.stdout);
        text.split(':')
            .next()
            .unwrap()
            .trim()
            .parse()
            .expect("ifindex")
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = self.lbctl(&["detach", "lan0"]);
        let _ = std::fs::remove_dir_all(&self.pin_dir);
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

/// MAC text "02:00:..." as bytes.
pub fn mac(text: &str) -> [u8; 6] {
    let mut out = [0u8; 6];
    for (i, part) in text.split(':').enumerate() {
        out[i] = u8::from_str_radix(part, 16).expect("hex");
    }
    out
}

/// Sends raw Ethernet frames out of `iface` inside namespace `ns`, from a
/// thread that joins the namespace (AF_PACKET, as a NIC would deliver
/// them to the veth peer).
pub fn send_frames(ns: &str, iface: &str, frames: Vec<Vec<u8>>) {
    let path = format!("/run/netns/{ns}");
    let iface = std::ffi::CString::new(iface).unwrap();
    std::thread::spawn(move || {
        let netns = std::fs::File::open(&path).expect("open the netns");
        use std::os::fd::AsRawFd;
        // SAFETY: a valid namespace fd; only this thread moves.
        let rc = unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        // SAFETY: plain socket(2) and if_nametoindex(3) calls.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
        assert!(fd >= 0, "AF_PACKET: {}", std::io::Error::last_os_error());
        let ifindex = unsafe { libc::if_nametoindex(iface.as_ptr()) };
        assert!(ifindex > 0, "no such interface");
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = ifindex as i32;
        addr.sll_halen = 6;
        for frame in &frames {
            addr.sll_addr[..6].copy_from_slice(&frame[..6]);
            // SAFETY: frame and addr outlive the call; lengths are theirs.
            let sent = unsafe {
                libc::sendto(
                    fd,
                    frame.as_ptr().cast(),
                    frame.len(),
                    0,
                    (&addr as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            };
            assert_eq!(
                sent,
                frame.len() as isize,
                "{}",
                std::io::Error::last_os_error()
            );
        }
        // SAFETY: fd is ours.
        unsafe { libc::close(fd) };
    })
    .join()
    .expect("the sender thread");
}

impl Bed {
    /// The MAC of `iface` in the namespace.
    pub fn mac_of(&self, iface: &str) -> [u8; 6] {
        let out = Command::new("ip")
            .args(["-n", &self.ns, "-br", "link", "show", iface])
            .output()
            .expect("ip link show");
        let text = String::from_utf8_lossy(&out.stdout);
        mac(text.split_whitespace().nth(2).expect("a MAC column"))
    }

    /// `ip -d link show` of `iface`: says whether an XDP program is on it.
    pub fn link_details(&self, iface: &str) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.ns, "-d", "link", "show", iface])
            .output()
            .expect("ip link show");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
