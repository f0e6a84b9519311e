//! What a topology is made of: the nodes (roles), the networks they sit on, their addresses and
//! routes. Pure data, no side effects; `topology` turns a [`Spec`] into namespaces.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use anyhow::{bail, Result};

/// The virtual service address, held by the VRRP master and put on `lo` of the DR/TUN real servers.
pub const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);

/// MTU of every veth end except the client's. TUN adds a 20-byte outer IPv4 header in XDP,
/// which cannot fragment: a full-size 1500-byte client packet becomes 1520 bytes between the
/// director and the real server, and a veth drops frames above its MTU. So, as in a data centre
/// with a larger fabric MTU, everything behind the client carries 1600.
pub const FABRIC_MTU: u32 = 1600;

/// MTU of the client's link: a normal Ethernet client.
pub const CLIENT_MTU: u32 = 1500;

/// Name of the namespace that holds the bridges (the "switch").
pub const SWITCH: &str = "sw";

/// One of the /24 networks of DESIGN.md §6. Each is a bridge in the switch namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Net {
    /// 198.18.0.0/24: client, directors, DR real servers, router.
    Lan,
    /// 198.18.1.0/24 behind the router: the TUN real servers.
    Tun,
    /// 198.18.2.0/24 behind lb1: the NAT real servers.
    Nat,
}

impl Net {
    pub const ALL: [Net; 3] = [Net::Lan, Net::Tun, Net::Nat];

    /// The bridge (in the switch namespace) that carries this network.
    pub fn bridge(self) -> &'static str {
        match self {
            Net::Lan => "br0",
            Net::Tun => "br1",
            Net::Nat => "br2",
        }
    }

    fn third_octet(self) -> u8 {
        match self {
            Net::Lan => 0,
            Net::Tun => 1,
            Net::Nat => 2,
        }
    }

    /// Network address; the prefix length is always [`Net::PREFIX_LEN`].
    pub fn network(self) -> Ipv4Addr {
        self.host(0)
    }

    pub const PREFIX_LEN: u8 = 24;

    /// `198.18.<net>.<host>`.
    pub fn host(self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, self.third_octet(), host)
    }

    /// "198.18.1.0/24".
    pub fn cidr(self) -> String {
        format!("{}/{}", self.network(), Self::PREFIX_LEN)
    }
}

/// One interface of a node: its name inside the node's namespace, its network and host number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leg {
    pub iface: &'static str,
    pub net: Net,
    pub host: u8,
}

impl Leg {
    pub fn addr(&self) -> Ipv4Addr {
        self.net.host(self.host)
    }

    /// A fixed, readable MAC: `02:00:c6:12:<net>:<host>` (c6:12 = 198.18, locally administered).
    /// Fixed MACs make packet dumps and map entries easy to check by eye.
    pub fn mac(&self) -> MacAddr {
        MacAddr([0x02, 0x00, 198, 18, self.net.third_octet(), self.host])
    }
}

/// Where a static route leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    Default,
    Net(Net),
}

/// A static route: `dest` via the gateway node's address on the network both share.
/// Only installed when the gateway node is part of the topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub dest: Dest,
    pub gateway: Role,
}

/// A node of the topology; each gets its own network namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Client,
    Lb1,
    Lb2,
    Rs1,
    Rs2,
    Router,
    Rs3,
    Rs4,
    Rs5,
    Rs6,
}

const fn leg(iface: &'static str, net: Net, host: u8) -> Leg {
    Leg { iface, net, host }
}

const fn via(dest: Dest, gateway: Role) -> Route {
    Route { dest, gateway }
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::Client,
        Role::Lb1,
        Role::Lb2,
        Role::Rs1,
        Role::Rs2,
        Role::Router,
        Role::Rs3,
        Role::Rs4,
        Role::Rs5,
        Role::Rs6,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Lb1 => "lb1",
            Role::Lb2 => "lb2",
            Role::Rs1 => "rs1",
            Role::Rs2 => "rs2",
            Role::Router => "router",
            Role::Rs3 => "rs3",
            Role::Rs4 => "rs4",
            Role::Rs5 => "rs5",
            Role::Rs6 => "rs6",
        }
    }

    /// The node's interfaces; the first one is its main address.
    pub fn legs(self) -> &'static [Leg] {
        match self {
            Role::Client => const { &[leg("eth0", Net::Lan, 2)] },
            Role::Lb1 => const { &[leg("eth0", Net::Lan, 11), leg("eth1", Net::Nat, 1)] },
            Role::Lb2 => const { &[leg("eth0", Net::Lan, 12)] },
            Role::Rs1 => const { &[leg("eth0", Net::Lan, 21)] },
            Role::Rs2 => const { &[leg("eth0", Net::Lan, 22)] },
            Role::Router => const { &[leg("eth0", Net::Lan, 1), leg("eth1", Net::Tun, 1)] },
            Role::Rs3 => const { &[leg("eth0", Net::Tun, 3)] },
            Role::Rs4 => const { &[leg("eth0", Net::Tun, 4)] },
            Role::Rs5 => const { &[leg("eth0", Net::Nat, 5)] },
            Role::Rs6 => const { &[leg("eth0", Net::Nat, 6)] },
        }
    }

    /// The node's leg called `iface`, if it has one.
    pub fn leg(self, iface: &str) -> Option<&'static Leg> {
        self.legs().iter().find(|l| l.iface == iface)
    }

    /// The node's main address (first leg).
    pub fn ip(self) -> Ipv4Addr {
        self.legs()[0].addr()
    }

    /// The node's address on `net`, if it has a leg there.
    pub fn ip_on(self, net: Net) -> Option<Ipv4Addr> {
        self.legs().iter().find(|l| l.net == net).map(Leg::addr)
    }

    /// Static routes. The LAN side reaches the TUN net through the router and the NAT net
    /// through lb1 (the latter only matters for pings and health checks: NAT replies are
    /// rewritten by lb1, so a client talking to the VIP never sees 198.18.2.x).
    pub fn routes(self) -> &'static [Route] {
        match self {
            Role::Client | Role::Lb2 => {
                const {
                    &[
                        via(Dest::Net(Net::Tun), Role::Router),
                        via(Dest::Net(Net::Nat), Role::Lb1),
                    ]
                }
            }
            Role::Lb1 => const { &[via(Dest::Net(Net::Tun), Role::Router)] },
            Role::Rs3 | Role::Rs4 => const { &[via(Dest::Default, Role::Router)] },
            Role::Rs5 | Role::Rs6 => const { &[via(Dest::Default, Role::Lb1)] },
            Role::Rs1 | Role::Rs2 | Role::Router => &[],
        }
    }

    /// Another node this one cannot work without (its gateway).
    pub fn requires(self) -> Option<Role> {
        match self {
            Role::Rs3 | Role::Rs4 => Some(Role::Router),
            Role::Rs5 | Role::Rs6 => Some(Role::Lb1),
            _ => None,
        }
    }

    /// MTU of the node's links (and of their switch-side ends).
    pub fn mtu(self) -> u32 {
        match self {
            Role::Client => CLIENT_MTU,
            _ => FABRIC_MTU,
        }
    }

    /// DR and TUN real servers hold the VIP on `lo` and must not answer ARP for it.
    pub fn holds_vip_on_lo(self) -> bool {
        matches!(self, Role::Rs1 | Role::Rs2 | Role::Rs3 | Role::Rs4)
    }

    /// Nodes that route between their legs (ip_forward=1).
    pub fn forwards(self) -> bool {
        matches!(self, Role::Lb1 | Role::Router)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match Role::ALL.into_iter().find(|r| r.name() == s) {
            Some(role) => Ok(role),
            None => {
                let names: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
                bail!("unknown node {s:?}; expected one of {}", names.join(", "))
            }
        }
    }
}

/// Which nodes to build. Gateways a node needs are added automatically.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    roles: BTreeSet<Role>,
}

impl Spec {
    /// The whole DESIGN.md §6 topology.
    pub fn full() -> Spec {
        Spec::with(&Role::ALL)
    }

    /// The given nodes plus whatever gateways they require.
    pub fn with(roles: &[Role]) -> Spec {
        let mut set: BTreeSet<Role> = roles.iter().copied().collect();
        for role in roles {
            set.extend(role.requires());
        }
        Spec { roles: set }
    }

    /// Client and both directors (the part every forwarding mode shares).
    fn base() -> [Role; 3] {
        [Role::Client, Role::Lb1, Role::Lb2]
    }

    /// DR: client, lb1, lb2, rs1, rs2.
    pub fn dr() -> Spec {
        Spec::with(&[Self::base().as_slice(), &[Role::Rs1, Role::Rs2]].concat())
    }

    /// TUN: client, lb1, lb2, router, rs3, rs4.
    pub fn tun() -> Spec {
        Spec::with(&[Self::base().as_slice(), &[Role::Rs3, Role::Rs4]].concat())
    }

    /// NAT: client, lb1, lb2, rs5, rs6.
    pub fn nat() -> Spec {
        Spec::with(&[Self::base().as_slice(), &[Role::Rs5, Role::Rs6]].concat())
    }

    pub fn contains(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn roles(&self) -> impl Iterator<Item = Role> + '_ {
        self.roles.iter().copied()
    }

    /// Networks that at least one node of the spec sits on.
    pub fn nets(&self) -> BTreeSet<Net> {
        self.roles()
            .flat_map(|r| r.legs().iter().map(|l| l.net))
            .collect()
    }

    /// Routes of `role` whose gateway is part of this spec, with the gateway's address
    /// on the network both share.
    pub fn routes_of(&self, role: Role) -> Vec<(Dest, Ipv4Addr)> {
        role.routes()
            .iter()
            .filter(|route| self.contains(route.gateway))
            .filter_map(|route| {
                let gateway_ip = role
                    .legs()
                    .iter()
                    .find_map(|l| route.gateway.ip_on(l.net))?;
                Some((route.dest, gateway_ip))
            })
            .collect()
    }
}

/// "dr", "tun", "nat" or "all" (the names `cargo xtask testbed up --mode` takes).
impl FromStr for Spec {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dr" => Ok(Spec::dr()),
            "tun" => Ok(Spec::tun()),
            "nat" => Ok(Spec::nat()),
            "all" | "full" => Ok(Spec::full()),
            _ => bail!("unknown topology {s:?}; expected dr, tun, nat or all"),
        }
    }
}

/// An Ethernet address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl FromStr for MacAddr {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            bail!("bad MAC address {s:?}");
        }
        let mut bytes = [0u8; 6];
        for (byte, part) in bytes.iter_mut().zip(parts) {
            *byte = u8::from_str_radix(part, 16)
                .map_err(|_| anyhow::anyhow!("bad MAC address {s:?}"))?;
        }
        Ok(MacAddr(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_design() {
        assert_eq!(Role::Client.ip(), Ipv4Addr::new(198, 18, 0, 2));
        assert_eq!(
            Role::Router.ip_on(Net::Tun),
            Some(Ipv4Addr::new(198, 18, 1, 1))
        );
        assert_eq!(
            Role::Lb1.ip_on(Net::Nat),
            Some(Ipv4Addr::new(198, 18, 2, 1))
        );
        assert_eq!(Role::Rs6.ip(), Ipv4Addr::new(198, 18, 2, 6));
        assert_eq!(Net::Tun.cidr(), "198.18.1.0/24");
    }

    #[test]
    fn spec_adds_required_gateways() {
        let spec = Spec::with(&[Role::Rs3, Role::Rs5]);
        let roles: Vec<Role> = spec.roles().collect();
        assert_eq!(roles, vec![Role::Lb1, Role::Router, Role::Rs3, Role::Rs5]);
        assert_eq!(
            spec.nets(),
            [Net::Lan, Net::Tun, Net::Nat].into_iter().collect()
        );
    }

    #[test]
    fn routes_use_the_gateway_on_the_shared_net() {
        let full = Spec::full();
        assert_eq!(
            full.routes_of(Role::Rs5),
            vec![(Dest::Default, Ipv4Addr::new(198, 18, 2, 1))]
        );
        assert_eq!(
            full.routes_of(Role::Client),
            vec![
                (Dest::Net(Net::Tun), Ipv4Addr::new(198, 18, 0, 1)),
                (Dest::Net(Net::Nat), Ipv4Addr::new(198, 18, 0, 11)),
            ]
        );
        // Without the router, the client gets no route to the TUN net.
        let dr = Spec::dr();
        assert_eq!(
            dr.routes_of(Role::Client),
            vec![(Dest::Net(Net::Nat), Ipv4Addr::new(198, 18, 0, 11))]
        );
    }

    #[test]
    fn names_parse_and_bad_names_are_clear_errors() {
        for role in Role::ALL {
            assert_eq!(role.name().parse::<Role>().unwrap(), role);
        }
        let err = "rs9".parse::<Role>().unwrap_err().to_string();
        assert!(err.contains("unknown node \"rs9\""), "{err}");
        assert_eq!("tun".parse::<Spec>().unwrap(), Spec::tun());
        assert!("lvs".parse::<Spec>().is_err());
    }

    #[test]
    fn mac_round_trips() {
        let mac = Role::Rs1.legs()[0].mac();
        assert_eq!(mac.to_string(), "02:00:c6:12:00:15");
        assert_eq!("02:00:c6:12:00:15".parse::<MacAddr>().unwrap(), mac);
        assert!("02:00:zz:12:00:15".parse::<MacAddr>().is_err());
        assert!("02:00".parse::<MacAddr>().is_err());
    }
}
