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
//! - [`plan`]: nodes, networks, addresses, routes ([`Spec`] picks the nodes).
//! - [`Topology`]: builds a spec, hands out [`Node`]s, tears down on drop.
//! - [`Node`]: commands (`nsenter`, never `ip netns exec`, which hides /sys/fs/bpf), spawned
//!   servers, code run inside the namespace, interface lookups.
//! - [`echo`]: the `tb-echo` server and its client side.

mod cmd;
pub mod echo;
pub mod netns;
mod node;
pub mod plan;
mod process;
mod topology;

pub use netns::{cleanup_prefix, in_netns, list_namespaces_with_prefix};
pub use node::{LinkInfo, Node, CHECK_TIMEOUT};
pub use plan::{MacAddr, Net, Role, Spec, CLIENT_MTU, FABRIC_MTU, VIP};
pub use process::Spawned;
pub use topology::{netns_name, switch_iface, SwitchPort, Topology};
