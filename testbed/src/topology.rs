//! Building a [`Spec`] into namespaces, veths and bridges, and tearing it down again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};

use crate::netns::{
    add_netns, delete_netns, list_namespaces_with_prefix, random_prefix, validate_name,
};
use crate::node::Node;
use crate::plan::{Dest, Leg, Net, Role, Spec, SWITCH, VIP};
use crate::process::ProcessTable;

/// Longest run prefix: leaves room for "-router" within the 40 characters a namespace name may
/// have here.
const MAX_PREFIX_LEN: usize = 24;

/// A built topology. Dropping it (also while a test panics) stops every process spawned in
/// it and deletes every namespace it created.
pub struct Topology {
    prefix: String,
    spec: Spec,
    switch: Node,
    nodes: BTreeMap<Role, Node>,
    processes: Arc<ProcessTable>,
    /// Namespaces this value created and must delete.
    created: Vec<String>,
    log_dir: PathBuf,
    /// Set by [`Topology::keep`]: leave everything running.
    kept: bool,
}

/// The switch-side end of a node's veth. Frames a node sends with native XDP_TX or
/// XDP_REDIRECT out of its interface arrive here, and the kernel drops them unless this end has
/// an XDP program too (DESIGN.md §3); attach one (XDP_PASS is enough) with
/// `topology.switch().in_netns(|| ...)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwitchPort {
    pub netns: String,
    pub iface: String,
    pub bridge: &'static str,
}

/// The namespace name of node `name` in run `prefix`: `<prefix>-<name>`.
pub fn netns_name(prefix: &str, name: &str) -> String {
    format!("{prefix}-{name}")
}

/// Switch-side name of a node's interface: `<node>-<iface>`, e.g. "router-eth1" (at most 11
/// characters, within the 15 Linux allows). It only has to be unique inside the switch
/// namespace: veths are created directly in the namespaces, never in the root namespace.
pub fn switch_iface(role: Role, iface: &str) -> String {
    format!("{role}-{iface}")
}

impl Topology {
    /// Builds `spec` under a fresh random prefix ("lbt" + 5 hex digits).
    pub fn build(spec: &Spec) -> Result<Topology> {
        Topology::build_with_prefix(spec, &random_prefix()?)
    }

    /// Builds `spec` with namespaces named `<prefix>-<node>`. Fails if any exist already.
    /// On failure, whatever was created is deleted again.
    pub fn build_with_prefix(spec: &Spec, prefix: &str) -> Result<Topology> {
        validate_name("prefix", prefix)?;
        if prefix.len() > MAX_PREFIX_LEN {
            bail!("prefix {prefix:?} is longer than {MAX_PREFIX_LEN} characters");
        }
        let existing = list_namespaces_with_prefix(&format!("{prefix}-"))?;
        if !existing.is_empty() {
            bail!(
                "namespaces with prefix {prefix:?} already exist ({}); remove them with \
                 Topology::remove (cargo xtask testbed down)",
                existing.join(", ")
            );
        }
        let mut topology = Topology::handles(prefix, spec.clone())?;
        // `topology` is complete as a value from here on, so an early return drops it and
        // deletes the namespaces made so far.
        topology.create_namespaces()?;
        topology.wire_switch()?;
        std::thread::scope(|scope| {
            let workers: Vec<_> = topology
                .nodes
                .iter()
                .map(|(role, node)| scope.spawn(|| configure_node(node, *role, &topology.spec)))
                .collect();
            workers
                .into_iter()
                .try_for_each(|w| w.join().expect("configure thread panicked"))
        })?;
        Ok(topology)
    }

    /// Deletes the namespaces of one topology (kept by [`Topology::keep`] or left by a killed
    /// run) and its log folder, killing whatever runs inside. Returns the namespaces deleted.
    /// Unlike `cleanup_prefix(prefix)`, it leaves `<prefix>X-...` namespaces alone.
    pub fn remove(prefix: &str) -> Result<Vec<String>> {
        validate_name("prefix", prefix)?;
        let removed = crate::netns::cleanup_prefix(&format!("{prefix}-"))?;
        let _ = std::fs::remove_dir_all(log_dir_of(prefix));
        Ok(removed)
    }

    /// Handles to a topology built earlier (e.g. by `cargo xtask testbed up`), found by its
    /// prefix. Dropping it stops processes spawned through it but deletes no namespace.
    pub fn open(prefix: &str) -> Result<Topology> {
        validate_name("prefix", prefix)?;
        let exists = |name: &str| crate::netns::netns_path(&netns_name(prefix, name)).exists();
        if !exists(SWITCH) {
            bail!(
                "no topology with prefix {prefix:?} (namespace {} missing)",
                netns_name(prefix, SWITCH)
            );
        }
        let roles: Vec<Role> = Role::ALL.into_iter().filter(|r| exists(r.name())).collect();
        Topology::handles(prefix, Spec::with(&roles))
    }

    /// The value with node handles but no namespaces created yet.
    fn handles(prefix: &str, spec: Spec) -> Result<Topology> {
        let log_dir = log_dir_of(prefix);
        std::fs::create_dir_all(&log_dir)
            .with_context(|| format!("create {}", log_dir.display()))?;
        let processes = Arc::new(ProcessTable::default());
        let node = |name: &str, role| {
            Node::new(
                name,
                netns_name(prefix, name),
                role,
                processes.clone(),
                log_dir.clone(),
            )
        };
        let switch = node(SWITCH, None);
        let nodes = spec.roles().map(|r| (r, node(r.name(), Some(r)))).collect();
        Ok(Topology {
            prefix: prefix.to_string(),
            spec,
            switch,
            nodes,
            processes,
            created: Vec::new(),
            log_dir,
            kept: false,
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The node for `role`. Panics if the spec left it out (a bug in the calling test).
    pub fn node(&self, role: Role) -> &Node {
        self.get(role)
            .unwrap_or_else(|| panic!("node {role} is not part of topology {}", self.prefix))
    }

    pub fn get(&self, role: Role) -> Option<&Node> {
        self.nodes.get(&role)
    }

    /// A node by name, "sw" included (for `cargo xtask testbed exec NODE`).
    pub fn node_by_name(&self, name: &str) -> Result<&Node> {
        if name == SWITCH {
            return Ok(&self.switch);
        }
        let role: Role = name.parse()?;
        self.get(role)
            .ok_or_else(|| anyhow!("node {name} is not part of topology {}", self.prefix))
    }

    /// The namespace that holds the bridges.
    pub fn switch(&self) -> &Node {
        &self.switch
    }

    /// All nodes (not the switch), in [`Role`] order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    /// The switch-side end of `role`'s interface `iface`.
    pub fn switch_port(&self, role: Role, iface: &str) -> Result<SwitchPort> {
        if !self.spec.contains(role) {
            bail!("node {role} is not part of topology {}", self.prefix);
        }
        let leg = role
            .leg(iface)
            .ok_or_else(|| anyhow!("node {role} has no interface {iface:?}"))?;
        Ok(self.port_of(role, leg))
    }

    /// Every switch-side veth end (where XDP_PASS programs go when directors use native XDP).
    pub fn switch_ports(&self) -> Vec<SwitchPort> {
        self.legs()
            .map(|(role, leg)| self.port_of(role, leg))
            .collect()
    }

    fn port_of(&self, role: Role, leg: &Leg) -> SwitchPort {
        SwitchPort {
            netns: self.switch.netns().to_string(),
            iface: switch_iface(role, leg.iface),
            bridge: leg.net.bridge(),
        }
    }

    fn legs(&self) -> impl Iterator<Item = (Role, &'static Leg)> + '_ {
        self.spec
            .roles()
            .flat_map(|r| r.legs().iter().map(move |l| (r, l)))
    }

    /// Folder of the spawned processes' logs. Deleted at teardown, except after a panic.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// Leaves the namespaces and spawned processes in place (for `cargo xtask testbed up`) and
    /// returns the prefix; remove them later with [`Topology::remove`].
    pub fn keep(mut self) -> String {
        self.kept = true;
        self.prefix.clone()
    }

    /// Tears down now, reporting problems (Drop does the same but can only print them).
    pub fn teardown(mut self) -> Result<()> {
        self.teardown_inner()
    }

    fn teardown_inner(&mut self) -> Result<()> {
        if self.kept {
            return Ok(());
        }
        self.kept = true; // never twice
        self.processes.stop_everything();
        // A value from `open` owns no namespace, and the logs belong to whoever built them.
        let owns_logs = !self.created.is_empty();
        let mut errors = Vec::new();
        for name in self.created.drain(..) {
            if let Err(e) = delete_netns(&name) {
                errors.push(format!("{e:#}"));
            }
        }
        if std::thread::panicking() {
            eprintln!(
                "testbed {}: logs kept in {}",
                self.prefix,
                self.log_dir.display()
            );
        } else if owns_logs {
            let _ = std::fs::remove_dir_all(&self.log_dir);
        }
        if !errors.is_empty() {
            bail!("teardown of {}: {}", self.prefix, errors.join("; "));
        }
        Ok(())
    }

    fn create_namespaces(&mut self) -> Result<()> {
        let names: Vec<String> = std::iter::once(&self.switch)
            .chain(self.nodes.values())
            .map(|n| n.netns().to_string())
            .collect();
        for name in names {
            add_netns(&name)?;
            self.created.push(name);
        }
        // Before any interface exists, so that new interfaces inherit these from `default`.
        for node in std::iter::once(&self.switch).chain(self.nodes.values()) {
            node.set_sysctls(&namespace_sysctls(node.role()))?;
        }
        Ok(())
    }

    /// Bridges, and one veth per node leg: the switch end goes on the leg's bridge, the other
    /// end is created directly inside the node's namespace under its final name.
    fn wire_switch(&self) -> Result<()> {
        let mut lines = vec!["link set lo up".to_string()];
        for net in self.spec.nets() {
            // No multicast snooping: VRRP adverts and anything else multicast just flood, as on
            // a dumb switch, without waiting for IGMP state.
            lines.push(format!(
                "link add {} type bridge mcast_snooping 0",
                net.bridge()
            ));
            lines.push(format!("link set {} up", net.bridge()));
        }
        for (role, leg) in self.legs() {
            let port = switch_iface(role, leg.iface);
            let node_netns = self.node(role).netns();
            let mtu = role.mtu();
            lines.push(format!(
                "link add {port} mtu {mtu} type veth peer name {} mtu {mtu} netns {node_netns}",
                leg.iface
            ));
            lines.push(format!("link set {port} master {}", leg.net.bridge()));
            lines.push(format!("link set {port} up"));
        }
        self.switch.ip_batch(&lines)?;
        for (role, leg) in self.legs() {
            disable_tx_checksum(&self.switch, &switch_iface(role, leg.iface))?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topology")
            .field("prefix", &self.prefix)
            .field("nodes", &self.nodes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if let Err(e) = self.teardown_inner() {
            eprintln!("testbed: {e:#}");
        }
    }
}

/// Where the logs of a topology's processes go.
fn log_dir_of(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("testbed-{prefix}"))
}

/// Namespace-wide sysctls, set before interfaces exist.
fn namespace_sysctls(role: Option<Role>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut set = |key: &str, value: &str| pairs.push((key.to_string(), value.to_string()));
    // No IPv6 on the veths and bridges created from now on: keeps router solicitations and DAD
    // out of packet dumps and XDP counters. `lo` already exists and keeps ::1, so servers that
    // bind ::1 or [::] still start.
    set("net.ipv6.conf.default.disable_ipv6", "1");
    for scope in ["all", "default"] {
        // Tunnels and DR make asymmetric paths (e.g. replies from the VIP leave rs3 towards the
        // router, whose route to the VIP points elsewhere); reverse-path filtering would drop them.
        set(&format!("net.ipv4.conf.{scope}.rp_filter"), "0");
    }
    let Some(role) = role else { return pairs };
    if role.forwards() {
        set("net.ipv4.ip_forward", "1");
    }
    if role.holds_vip_on_lo() {
        for scope in ["all", "default"] {
            set(&format!("net.ipv4.conf.{scope}.arp_ignore"), "1");
            set(&format!("net.ipv4.conf.{scope}.arp_announce"), "2");
        }
    }
    pairs
}

/// Per-interface sysctls, set after the interfaces exist and before any address is added
/// (the ARP settings must be in place before the VIP appears on `lo`).
fn interface_sysctls(role: Role) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for leg in role.legs() {
        pairs.push((format!("net.ipv4.conf.{}.rp_filter", leg.iface), "0".into()));
    }
    if role.holds_vip_on_lo() {
        let ifaces = role.legs().iter().map(|l| l.iface).chain(["lo"]);
        for iface in ifaces {
            pairs.push((format!("net.ipv4.conf.{iface}.arp_ignore"), "1".into()));
            pairs.push((format!("net.ipv4.conf.{iface}.arp_announce"), "2".into()));
        }
    }
    pairs
}

/// Sysctls, checksum offload, MACs, addresses, the VIP and routes of one node.
fn configure_node(node: &Node, role: Role, spec: &Spec) -> Result<()> {
    node.set_sysctls(&interface_sysctls(role))?;
    let mut lines = vec!["link set lo up".to_string()];
    for leg in role.legs() {
        disable_tx_checksum(node, leg.iface)?;
        lines.push(format!("link set {} address {}", leg.iface, leg.mac()));
        lines.push(format!(
            "addr add {}/{} dev {}",
            leg.addr(),
            Net::PREFIX_LEN,
            leg.iface
        ));
        lines.push(format!("link set {} up", leg.iface));
    }
    if role.holds_vip_on_lo() {
        lines.push(format!("addr add {VIP}/32 dev lo"));
    }
    for (dest, gateway) in spec.routes_of(role) {
        let dest = match dest {
            Dest::Default => "default".to_string(),
            Dest::Net(net) => net.cidr(),
        };
        lines.push(format!("route add {dest} via {gateway}"));
    }
    node.ip_batch(&lines)
}

/// Locally generated packets leave a veth with CHECKSUM_PARTIAL, which XDP_TX loses
/// (DESIGN.md §3); with TX offload off every packet carries a full checksum, as on a wire.
fn disable_tx_checksum(node: &Node, iface: &str) -> Result<()> {
    node.run(&["ethtool", "-K", iface, "tx", "off"])?;
    Ok(())
}
