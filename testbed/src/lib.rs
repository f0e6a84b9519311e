//! Network-namespace topologies for the end-to-end tests and the demo (DESIGN.md §6).
//!
//! ```no_run
//! use testbed::{Role, Spec, Topology};
//! let topo = Topology::build(&Spec::dr())?;            // namespaces "lbtXXXXX-<node>"
//! let rs1 = topo.node(Role::Rs1);
//! rs1.spawn(&["tb-echo", "--port", "7000", "--id", "rs1"])?;
//! rs1.wait_for_tcp((Role::Rs1.ip(), 7000).into(), std::time::Duration::from_secs(5))?;
//! let answer = topo.node(Role::Client).tcp_echo((Role::Rs1.ip(), 7000).into(), "hi")?;
//! assert_eq!(answer, "rs1 hi");
//! // Dropping `topo` stops tb-echo and deletes the namespaces, also on panic.
//! # anyhow::Ok(())
//! ```
//!
//! Native XDP_TX or XDP_REDIRECT into a veth drops frames unless the receiving end has an XDP
//! program (DESIGN.md §3). For a director's interface, that end is its [`SwitchPort`]; attach a
//! pass program there from inside the switch namespace, e.g. with lb-ctl:
//!
//! ```text
//! let mut decap = lb_ctl::Decap::load(None)?;
//! for port in topo.switch_ports() {                    // or topo.switch_port(Role::Lb1, "eth0")?
//!     topo.switch().in_netns(|| decap.attach_pass(&port.iface, XdpMode::Driver))??;
//! }
//! ```
//!
//! Sockets and XDP attachments made inside `in_netns` stay in that namespace after it returns.
//! Keep `decap` alive as long as the programs must stay attached.
//!
//! Every node has ip_forward, rp_filter and ARP settings, fixed MACs (`02:00:c6:12:<net>:<host>`)
//! and routes as in DESIGN.md §6; the links carry MTU 1600 ([`FABRIC_MTU`], room for TUN's
//! outer header) except the client's (1500); IPv6 is off on the links; TX checksum offload is
//! off on every veth end.
//!
//! - [`plan`]: nodes, networks, addresses, routes ([`Spec`] picks the nodes).
//! - [`Topology`]: builds a spec, hands out [`Node`]s, tears down on drop.
//! - [`Node`]: commands (`nsenter`, never `ip netns exec`, which hides /sys/fs/bpf), spawned
//!   servers, code run inside the namespace, interface lookups.
//! - [`echo`]: the `tb-echo` server and its client side.
//! - [`servers`]: how a real server runs kv-server.

mod cmd;
pub mod echo;
pub mod netns;
mod node;
pub mod plan;
mod process;
pub mod servers;
mod topology;

pub use netns::{cleanup_prefix, in_netns, list_namespaces_with_prefix};
pub use node::{LinkInfo, Node, CHECK_TIMEOUT};
pub use plan::{MacAddr, Net, Role, Spec, CLIENT_MTU, FABRIC_MTU, VIP};
pub use process::Spawned;
pub use topology::{netns_name, switch_iface, SwitchPort, Topology};
