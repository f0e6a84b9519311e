//! `cargo xtask testbed up|down|exec`: the DESIGN.md §6 topology as a user
//! runs it, with kv-server and coord-server on every real server and
//! lbctl-configured services for 6379 and 2181 on the VIP.

use crate::util;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use testbed::{Node, Role, Spec, Topology, VIP};

/// The namespace prefix of the user's testbed (tests use random ones).
pub const PREFIX: &str = "lbtb";
pub const REDIS_PORT: u16 = 6379;
pub const ZK_PORT: u16 = 2181;

/// Which real servers a mode puts behind the VIP, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Dr,
    Tun,
    Nat,
    All,
}

impl Mode {
    pub fn parse(s: &str) -> Result<Mode> {
        Ok(match s {
            "dr" => Mode::Dr,
            "tun" => Mode::Tun,
            "nat" => Mode::Nat,
            "all" => Mode::All,
            other => bail!("unknown mode `{other}` (dr, tun, nat or all)"),
        })
    }

    /// (real server, ipvsadm forwarding flag).
    pub fn reals(self) -> Vec<(Role, &'static str)> {
        let dr = [(Role::Rs1, "-g"), (Role::Rs2, "-g")];
        let tun = [(Role::Rs3, "-i"), (Role::Rs4, "-i")];
        let nat = [(Role::Rs5, "-m"), (Role::Rs6, "-m")];
        match self {
            Mode::Dr => dr.to_vec(),
            Mode::Tun => tun.to_vec(),
            Mode::Nat => nat.to_vec(),
            Mode::All => [dr, tun, nat].concat(),
        }
    }
}

/// The user's testbed: the topology and the binaries it runs.
pub struct Testbed {
    pub topo: Topology,
    pub bin: PathBuf,
}

fn data_dir(node: &Node) -> PathBuf {
    Path::new("/tmp")
        .join(format!("{PREFIX}-data"))
        .join(node.name())
}

/// The binaries the testbed runs, built once in release mode.
pub fn build_binaries(root: &Path) -> Result<PathBuf> {
    util::cargo(
        root,
        &[
            "build",
            "--release",
            "-p",
            "lb-ctl",
            "-p",
            "kv-backend",
            "-p",
            "coord",
            "-p",
            "testbed",
            "--bins",
        ],
    )?;
    Ok(root.join("target").join("release"))
}

impl Testbed {
    /// Builds the full topology, starts the servers, loads the XDP
    /// programs and configures the services for `mode`.
    pub fn up(bin: PathBuf, mode: Mode) -> Result<Testbed> {
        if !testbed::list_namespaces_with_prefix(&format!("{PREFIX}-"))?.is_empty() {
            bail!("a testbed is already up (remove it with `cargo xtask testbed down`)");
        }
        let topo = Topology::build_with_prefix(&Spec::full(), PREFIX)?;
        let tb = Testbed { topo, bin };
        tb.attach_helpers()?;
        tb.start_servers()?;
        let lb1 = tb.topo.node(Role::Lb1);
        lb1.run(&["ip", "addr", "add", &format!("{VIP}/32"), "dev", "eth0"])?;
        for leg in ["eth0", "eth1"] {
            tb.lbctl(lb1, &["attach", leg])?;
        }
        tb.configure(mode)?;
        Ok(tb)
    }

    /// Reopens a testbed left up by `cargo xtask testbed up`.
    pub fn open(bin: PathBuf) -> Result<Testbed> {
        Ok(Testbed {
            topo: Topology::open(PREFIX)?,
            bin,
        })
    }

    pub fn tool(&self, name: &str) -> String {
        self.bin.join(name).display().to_string()
    }

    /// Runs `lbctl ARGS` in `node`, with the node's own pin folder.
    pub fn lbctl(&self, node: &Node, args: &[&str]) -> Result<String> {
        let mut cmd = node.command(self.tool("lbctl"));
        cmd.env("LBCTL_INSTANCE", instance(node)).args(args);
        let out = cmd.output().with_context(|| format!("lbctl {args:?}"))?;
        if !out.status.success() {
            bail!(
                "lbctl {} in {}: {}",
                args.join(" "),
                node.name(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Pass programs on the switch ports (native XDP_TX into a veth needs a
    /// program on the receiving end) and decap on the TUN real servers.
    fn attach_helpers(&self) -> Result<()> {
        let sw = self.topo.switch();
        for port in self.topo.switch_ports() {
            self.lbxdp(sw, &["pass", &port.iface])?;
        }
        for role in [Role::Rs3, Role::Rs4] {
            let node = self.topo.node(role);
            self.lbxdp(node, &["decap", "eth0", "--local", &role.ip().to_string()])?;
        }
        Ok(())
    }

    fn lbxdp(&self, node: &Node, args: &[&str]) -> Result<String> {
        let mut cmd = node.command(self.tool("lbxdp"));
        cmd.args(args).args(["--instance", &instance(node)]);
        let out = cmd.output()?;
        if !out.status.success() {
            bail!(
                "lbxdp {args:?} in {}: {}",
                node.name(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// kv-server on 6379 and coord-server on 2181 on every real server.
    fn start_servers(&self) -> Result<()> {
        for role in Mode::All.reals().into_iter().map(|(r, _)| r) {
            let node = self.topo.node(role);
            self.start_kv(node)?;
            let zk = self.tool("coord-server");
            let zk_port = ZK_PORT.to_string();
            let zk_dir = data_dir(node).join("zk").display().to_string();
            node.spawn(&[&zk, "--port", &zk_port, "--data-dir", &zk_dir])?;
        }
        for role in Mode::All.reals().into_iter().map(|(r, _)| r) {
            let node = self.topo.node(role);
            for port in [REDIS_PORT, ZK_PORT] {
                node.wait_for_tcp((role.ip(), port).into(), std::time::Duration::from_secs(10))
                    .with_context(|| format!("{} :{port} did not start", node.name()))?;
            }
        }
        Ok(())
    }

    /// Starts kv-server on 6379 in `node`.
    pub fn start_kv(&self, node: &Node) -> Result<testbed::Spawned> {
        let dir = data_dir(node);
        std::fs::create_dir_all(&dir)?;
        let argv = testbed::servers::kv_server_argv(
            &self.tool("kv-server"),
            REDIS_PORT,
            &dir.display().to_string(),
        );
        node.spawn(&argv.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Replaces lb1's services with 6379 and 2181 on the VIP, balanced rr
    /// over `mode`'s real servers.
    pub fn configure(&self, mode: Mode) -> Result<()> {
        let lb1 = self.topo.node(Role::Lb1);
        self.lbctl(lb1, &["-C"])?;
        for port in [REDIS_PORT, ZK_PORT] {
            let vip = format!("{VIP}:{port}");
            self.lbctl(lb1, &["-A", "-t", &vip, "-s", "rr"])?;
            for (role, flag) in mode.reals() {
                let rip = format!("{}:{port}", role.ip());
                self.lbctl(lb1, &["-a", "-t", &vip, "-r", &rip, flag, "-w", "1"])?;
            }
        }
        Ok(())
    }

    /// Leaves everything running for later `exec` and `down` calls.
    pub fn keep(self) -> String {
        self.topo.keep()
    }
}

/// Each node pins its programs in its own folder: /sys/fs/bpf/lbtb-<node>.
fn instance(node: &Node) -> String {
    format!("{PREFIX}-{}", node.name())
}

/// Removes every namespace, process and pin of the user's testbed.
pub fn down() -> Result<()> {
    let removed = Topology::remove(PREFIX)?;
    let mut pins = 0;
    if let Ok(entries) = std::fs::read_dir("/sys/fs/bpf") {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("{PREFIX}-"))
            {
                std::fs::remove_dir_all(entry.path())?;
                pins += 1;
            }
        }
    }
    let _ = std::fs::remove_dir_all(Path::new("/tmp").join(format!("{PREFIX}-data")));
    // lbd's health files.
    if let Ok(entries) = std::fs::read_dir("/run/lbd") {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("{PREFIX}-"))
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    eprintln!(
        "testbed down: {} namespaces, {pins} pin folders removed",
        removed.len()
    );
    Ok(())
}

/// `cargo xtask testbed up|down|exec`.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("up") => {
            let mode = match args.iter().position(|a| a == "--mode") {
                Some(i) => Mode::parse(args.get(i + 1).context("--mode needs a value")?)?,
                None => Mode::All,
            };
            crate::setup::run(root)?;
            let bin = build_binaries(root)?;
            let tb = match Testbed::up(bin, mode) {
                Ok(tb) => tb,
                Err(e) => {
                    let _ = down();
                    return Err(e);
                }
            };
            let lb1 = tb.topo.node(Role::Lb1);
            print!("{}", tb.lbctl(lb1, &["-L", "-n"])?);
            let prefix = tb.keep();
            eprintln!(
                "testbed up ({mode:?}): namespaces {prefix}-*; try\n  cargo xtask testbed exec client -- redis-cli -h {VIP} ping\n  cargo xtask testbed exec lb1 -- lbctl -L -n\nand `cargo xtask testbed down` to remove it"
            );
            Ok(())
        }
        Some("down") => down(),
        Some("exec") => {
            let node_name = args
                .get(1)
                .context("usage: cargo xtask testbed exec NODE -- CMD ...")?;
            let cmd_start = args
                .iter()
                .position(|a| a == "--")
                .map(|i| i + 1)
                .unwrap_or(2);
            let cmd = args
                .get(cmd_start..)
                .filter(|c| !c.is_empty())
                .context("no command given")?;
            let tb = Testbed::open(root.join("target").join("release"))?;
            let node = tb.topo.node_by_name(node_name)?;
            // Our own tools by name, from the release build.
            let program = match cmd[0].as_str() {
                "lbctl" | "lbxdp" | "kv-server" | "coord-server" | "tb-echo" => tb.tool(&cmd[0]),
                other => other.to_string(),
            };
            let status = node
                .command(program)
                .args(&cmd[1..])
                .env("LBCTL_INSTANCE", instance(node))
                .status()?;
            let _ = tb.keep();
            std::process::exit(status.code().unwrap_or(1));
        }
        _ => bail!(
            "usage: cargo xtask testbed up [--mode dr|tun|nat|all] | down | exec NODE -- CMD ..."
        ),
    }
}
