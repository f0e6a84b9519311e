//! `lbctl attach IFACE [--mode native|skb] [--tunnel-src ADDR]` and
//! `lbctl detach IFACE`: the part ipvsadm never needed, because the kernel
//! module is always there. Attaching loads the balancer with its maps
//! pinned (reusing them if an instance already runs) and pins the link, so
//! the data plane outlives this process, as IPVS rules outlive ipvsadm.

use super::error::{CliError, CliResult};
use crate::loader::{self, Balancer};
use std::net::Ipv4Addr;
use std::path::Path;

/// A parsed `attach`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attach {
    pub iface: String,
    pub mode: String,
    pub tunnel_src: Option<Ipv4Addr>,
}

pub const ATTACH_USAGE: &str = "usage: lbctl attach IFACE [--mode native|skb] [--tunnel-src ADDR]";
pub const DETACH_USAGE: &str = "usage: lbctl detach IFACE";

/// Parses the words after `attach`.
pub fn parse_attach(words: &[String]) -> CliResult<Attach> {
    let mut iface = None;
    let mut mode = "native".to_string();
    let mut tunnel_src = None;
    let mut it = words.iter();
    while let Some(w) = it.next() {
        let (name, inline) = match w.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (w.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| CliError::usage(format!("{name}: missing argument\n{ATTACH_USAGE}")))
        };
        match name {
            "--mode" => mode = value()?,
            "--tunnel-src" => {
                let v = value()?;
                tunnel_src = Some(v.parse().map_err(|_| {
                    CliError::usage(format!("illegal tunnel source address `{v}' specified"))
                })?);
            }
            _ if name.starts_with('-') => {
                return Err(CliError::usage(format!(
                    "{name}: unknown option\n{ATTACH_USAGE}"
                )))
            }
            _ if iface.is_none() => iface = Some(w.clone()),
            _ => {
                return Err(CliError::usage(format!(
                    "unexpected argument {w}\n{ATTACH_USAGE}"
                )))
            }
        }
    }
    let iface = iface.ok_or_else(|| CliError::usage(ATTACH_USAGE))?;
    loader::xdp_mode(&mode).map_err(|e| CliError::usage(e.to_string()))?;
    Ok(Attach {
        iface,
        mode,
        tunnel_src,
    })
}

/// Parses the words after `detach`.
pub fn parse_detach(words: &[String]) -> CliResult<String> {
    match words {
        [iface] if !iface.starts_with('-') => Ok(iface.clone()),
        _ => Err(CliError::usage(DETACH_USAGE)),
    }
}

const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// Whether bpffs is mounted on /sys/fs/bpf in our mount namespace.
fn bpffs_mounted() -> bool {
    let path = std::ffi::CString::new(loader::BPFFS).expect("no NUL");
    // SAFETY: statfs fills the zeroed struct we pass.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and out-pointer.
    let rc = unsafe { libc::statfs(path.as_ptr(), &mut st) };
    rc == 0 && st.f_type as i64 == BPF_FS_MAGIC
}

/// `ip netns exec` gives its command a private mount namespace with a
/// fresh sysfs, so /sys/fs/bpf there is an empty folder: a running
/// instance's pins are out of sight, and pins made there vanish with the
/// process. The hint for when bpffs is missing.
pub fn missing_bpffs_hint() -> Option<String> {
    (!bpffs_mounted()).then(|| {
        format!(
            "no bpffs is mounted on {} here; under `ip netns exec` (which remounts /sys) \
             run lbctl with `nsenter --net=/run/netns/NAME` instead",
            loader::BPFFS
        )
    })
}

/// True when we run in a mount namespace of our own that lacks bpffs, as
/// a command started by `ip netns exec` does: attaching there would pin
/// into a throwaway bpffs and detach as soon as lbctl exits.
fn in_private_sysfs() -> bool {
    if bpffs_mounted() {
        return false;
    }
    let ours = std::fs::read_link("/proc/self/ns/mnt").ok();
    // SAFETY: getppid cannot fail.
    let parent = std::fs::read_link(format!("/proc/{}/ns/mnt", unsafe { libc::getppid() })).ok();
    matches!((ours, parent), (Some(a), Some(b)) if a != b)
}

/// Loads (or reuses) the instance in `pin_dir` and attaches it to the
/// interface. The tunnel source is the given address, else the
/// interface's first IPv4 address; without either, the one already set
/// stays.
pub fn attach(pin_dir: &Path, req: &Attach) -> CliResult<()> {
    let mode = loader::xdp_mode(&req.mode).map_err(|e| CliError::usage(e.to_string()))?;
    if in_private_sysfs() {
        return Err(CliError::usage(missing_bpffs_hint().unwrap_or_default()));
    }
    crate::netlink::interface_index(&req.iface)
        .map_err(|e| CliError::operation(format!("{}: {e}", req.iface)))?;
    if loader::attached_interfaces(pin_dir).contains(&req.iface) {
        return Err(CliError::operation(format!(
            "{}: already attached (lbctl detach {} first)",
            req.iface, req.iface
        )));
    }
    let tunnel_src = match req.tunnel_src {
        Some(a) => Some(a),
        None => crate::netlink::interface_ipv4s(&req.iface)
            .map_err(|e| CliError::operation(format!("{}: {e}", req.iface)))?
            .first()
            .map(|(a, _)| *a),
    };
    let mut balancer = Balancer::load(Some(pin_dir)).map_err(CliError::from_lb)?;
    if let Some(addr) = tunnel_src {
        let mut cfg = balancer.config().map_err(CliError::from_lb)?;
        cfg.tunnel_src = lb_common::ip_to_net(addr);
        balancer
            .maps
            .set_lb_config(&cfg)
            .map_err(CliError::from_lb)?;
    }
    balancer.attach(&req.iface, mode).map_err(CliError::from_lb)
}

/// Takes the balancer off the interface. The maps stay pinned, so the
/// table survives a detach and a later attach, as IPVS rules would.
pub fn detach(pin_dir: &Path, iface: &str) -> CliResult<()> {
    loader::detach(pin_dir, iface).map_err(CliError::from_lb)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn attach_arguments() {
        assert_eq!(
            parse_attach(&words("eth0")).unwrap(),
            Attach {
                iface: "eth0".into(),
                mode: "native".into(),
                tunnel_src: None
            }
        );
        let a = parse_attach(&words("veth1 --mode skb --tunnel-src=10.0.0.1")).unwrap();
        assert_eq!(a.mode, "skb");
        assert_eq!(a.tunnel_src, Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(parse_attach(&words("")).unwrap_err().code, 2);
        assert_eq!(
            parse_attach(&words("eth0 --mode fast")).unwrap_err().code,
            2
        );
        assert_eq!(parse_attach(&words("eth0 eth1")).unwrap_err().code, 2);
        assert_eq!(
            parse_attach(&words("eth0 --tunnel-src x"))
                .unwrap_err()
                .code,
            2
        );
        assert_eq!(parse_detach(&words("eth0")).unwrap(), "eth0");
        assert_eq!(parse_detach(&words("")).unwrap_err().code, 2);
    }
}
