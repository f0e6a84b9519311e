//! Loading and attaching the XDP objects. The balancer's maps are pinned
//! under /sys/fs/bpf/<instance>/ when an instance name is given, and reused
//! when already there, so `lbctl` (a separate process) and a reloaded
//! balancer see the same state. Attachments are pinned bpf_links, so they
//! outlive the process that made them, as ipvsadm's rules outlive ipvsadm.

use crate::error::{LbError, Result};
use crate::maps::Maps;
use aya::programs::{links::FdLink, links::PinnedLink, Xdp, XdpMode};
use aya::{include_bytes_aligned, Ebpf, EbpfLoader};
use lb_common::{maps as map_names, progs, LbConfig, Timeouts};
use std::path::{Path, PathBuf};

/// The compiled `balancer` object (built by build.rs with the nightly
/// toolchain).
pub static BALANCER_OBJECT: &[u8] = include_bytes_aligned!(concat!(env!("OUT_DIR"), "/balancer.o"));
/// The compiled `decap` object (programs `decap` and `pass`).
pub static DECAP_OBJECT: &[u8] = include_bytes_aligned!(concat!(env!("OUT_DIR"), "/decap.o"));

/// Where bpffs is mounted.
pub const BPFFS: &str = "/sys/fs/bpf";
const BPF_FS_MAGIC: i64 = 0xcafe4a11;

/// The pin folder of an instance: /sys/fs/bpf/<instance>.
pub fn pin_dir(instance: &str) -> PathBuf {
    Path::new(BPFFS).join(instance)
}

fn link_pin(dir: &Path, iface: &str) -> PathBuf {
    dir.join("links").join(iface)
}

/// Mounts bpffs on /sys/fs/bpf when nothing is mounted there yet.
pub fn ensure_bpffs() -> Result<()> {
    let path = std::ffi::CString::new(BPFFS).expect("no NUL");
    // SAFETY: statfs writes into the zeroed struct we pass.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    std::fs::create_dir_all(BPFFS)?;
    // SAFETY: valid C string and out-pointer.
    if unsafe { libc::statfs(path.as_ptr(), &mut st) } == 0 && st.f_type as i64 == BPF_FS_MAGIC {
        return Ok(());
    }
    let fstype = std::ffi::CString::new("bpf").expect("no NUL");
    // SAFETY: valid C strings; no data argument.
    let rc = unsafe {
        libc::mount(
            fstype.as_ptr(),
            path.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(LbError::Other(format!(
            "cannot mount bpffs on {BPFFS}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// Native (driver) or generic (skb) XDP, as `lbctl attach --mode` says.
pub fn xdp_mode(name: &str) -> Result<XdpMode> {
    match name {
        "native" | "driver" | "drv" => Ok(XdpMode::Driver),
        "skb" | "generic" => Ok(XdpMode::Skb),
        other => Err(LbError::Other(format!(
            "unknown XDP mode `{other}` (native or skb)"
        ))),
    }
}

/// A loaded balancer: its program and its maps.
pub struct Balancer {
    ebpf: Ebpf,
    pub maps: Maps,
    pin_dir: Option<PathBuf>,
    logger: Option<aya_log::EbpfLogger<&'static dyn log::Log>>,
}

impl Balancer {
    /// Loads the balancer. With `pin_dir` its maps are pinned there (or
    /// reused from there); without, they live as long as this value: the
    /// packet tests use that.
    pub fn load(pin_dir: Option<&Path>) -> Result<Balancer> {
        let mut loader = EbpfLoader::new();
        if let Some(dir) = pin_dir {
            ensure_bpffs()?;
            std::fs::create_dir_all(dir)?;
            for name in map_names::ALL {
                loader.map_pin_path(name, dir.join(name));
            }
        }
        let mut ebpf = loader.load(BALANCER_OBJECT)?;
        // The logger owns the log ring buffer; it must exist before the
        // program is loaded and live as long as it.
        let logger = aya_log::EbpfLogger::init(&mut ebpf).ok();
        program(&mut ebpf, progs::BALANCER)?.load()?;
        let mut maps = Maps::from_ebpf(&mut ebpf)?;
        let mut cfg = maps.lb_config()?;
        if cfg.timeouts.by_state.iter().all(|&t| t == 0) {
            cfg.timeouts = Timeouts::default();
            maps.set_lb_config(&cfg)?;
        }
        Ok(Balancer {
            ebpf,
            maps,
            pin_dir: pin_dir.map(Path::to_path_buf),
            logger,
        })
    }

    /// The loaded `balancer` program, e.g. for BPF_PROG_TEST_RUN.
    pub fn program(&mut self) -> Result<&mut Xdp> {
        program(&mut self.ebpf, progs::BALANCER)
    }

    /// Attaches the balancer to `iface` and lets NAT redirect to it. With a
    /// pin folder the attachment is pinned and outlives this process.
    pub fn attach(&mut self, iface: &str, mode: XdpMode) -> Result<()> {
        let pin_dir = self.pin_dir.clone();
        attach(
            &mut self.ebpf,
            progs::BALANCER,
            iface,
            mode,
            pin_dir.as_deref(),
        )?;
        let ifindex = crate::netlink::interface_index(iface)
            .map_err(|e| LbError::Other(format!("{iface}: {e}")))?;
        self.maps
            .tx_ports
            .insert(ifindex, ifindex, None, 0)
            .map_err(|e| LbError::Other(format!("TX_PORTS: {e}")))?;
        Ok(())
    }

    /// Prints what the program logged (aya-log) since the last call.
    pub fn flush_logs(&mut self) {
        if let Some(logger) = self.logger.as_mut() {
            logger.flush();
        }
    }

    pub fn config(&self) -> Result<LbConfig> {
        self.maps.lb_config()
    }
}

/// Removes a pinned attachment made by [`Balancer::attach`] or
/// [`Decap::attach`]; the program leaves the interface.
pub fn detach(pin_dir: &Path, iface: &str) -> Result<()> {
    let path = link_pin(pin_dir, iface);
    let link = PinnedLink::from_pin(&path).map_err(|_| {
        LbError::Other(format!(
            "{iface}: no XDP attachment of ours (nothing pinned at {})",
            path.display()
        ))
    })?;
    drop(link.unpin()?);
    Ok(())
}

/// The interfaces with a pinned attachment in `pin_dir`.
pub fn attached_interfaces(pin_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(pin_dir.join("links")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn program<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut Xdp> {
    let prog = ebpf
        .program_mut(name)
        .ok_or_else(|| LbError::Other(format!("the object has no program {name}")))?;
    Ok(prog.try_into()?)
}

fn attach(
    ebpf: &mut Ebpf,
    name: &str,
    iface: &str,
    mode: XdpMode,
    pin_dir: Option<&Path>,
) -> Result<()> {
    let prog = program(ebpf, name)?;
    let id = prog
        .attach(iface, mode)
        .map_err(|e| LbError::Other(format!("cannot attach {name} to {iface}: {e}")))?;
    if let Some(dir) = pin_dir {
        let link: FdLink = prog
            .take_link(id)?
            .try_into()
            .map_err(|e| LbError::Other(format!("{iface}: the kernel gave no bpf_link: {e:?}")))?;
        let path = link_pin(dir, iface);
        std::fs::create_dir_all(path.parent().expect("links folder"))?;
        link.pin(&path)
            .map_err(|e| LbError::Other(format!("cannot pin {}: {e}", path.display())))?;
    }
    Ok(())
}

/// The real-server side: `decap` strips IP-in-IP addressed to one of the
/// host's addresses; `pass` only passes (for veth peers that need a
/// program so that native XDP_TX towards them works).
pub struct Decap {
    ebpf: Ebpf,
    pin_dir: Option<PathBuf>,
}

impl Decap {
    pub fn load(pin_dir: Option<&Path>) -> Result<Decap> {
        if pin_dir.is_some() {
            ensure_bpffs()?;
        }
        let mut ebpf = EbpfLoader::new().load(DECAP_OBJECT)?;
        program(&mut ebpf, progs::DECAP)?.load()?;
        program(&mut ebpf, progs::PASS)?.load()?;
        Ok(Decap {
            ebpf,
            pin_dir: pin_dir.map(Path::to_path_buf),
        })
    }

    /// Accepts IP-in-IP packets addressed to `addr`.
    pub fn add_local_address(&mut self, addr: std::net::Ipv4Addr) -> Result<()> {
        let mut map: aya::maps::HashMap<_, u32, u32> = aya::maps::HashMap::try_from(
            self.ebpf
                .map_mut(map_names::DECAP_DSTS)
                .ok_or_else(|| LbError::Other("the decap object has no DECAP_DSTS".into()))?,
        )?;
        map.insert(lb_common::ip_to_net(addr), 1, 0)?;
        Ok(())
    }

    pub fn program(&mut self) -> Result<&mut Xdp> {
        program(&mut self.ebpf, progs::DECAP)
    }

    /// The `pass` program, e.g. for BPF_PROG_TEST_RUN.
    pub fn pass_program(&mut self) -> Result<&mut Xdp> {
        program(&mut self.ebpf, progs::PASS)
    }

    pub fn attach(&mut self, iface: &str, mode: XdpMode) -> Result<()> {
        let pin_dir = self.pin_dir.clone();
        attach(
            &mut self.ebpf,
            progs::DECAP,
            iface,
            mode,
            pin_dir.as_deref(),
        )
    }

    pub fn attach_pass(&mut self, iface: &str, mode: XdpMode) -> Result<()> {
        let pin_dir = self.pin_dir.clone();
        attach(&mut self.ebpf, progs::PASS, iface, mode, pin_dir.as_deref())
    }
}
