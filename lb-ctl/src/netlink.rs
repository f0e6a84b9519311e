//! Small synchronous rtnetlink helpers: interface facts, `ip route get`,
//! the neighbour (ARP) table, and adding or removing IPv4 addresses.
//!
//! Every call opens its own `NETLINK_ROUTE` socket, so it acts in the
//! network namespace of the calling thread at the time of the call (a
//! thread that did `setns` sees its namespace). Messages are built and
//! parsed by hand here: the kernel ABI used is small and stable, and that
//! keeps the crate free of async runtimes.

use std::io;
use std::mem::size_of;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::thread;
use std::time::Duration;

/// What can go wrong talking to the kernel.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("no network interface named {0:?}")]
    NoSuchInterface(String),
    #[error("invalid interface name {0:?} (1 to 15 bytes, no NUL or '/')")]
    InvalidInterfaceName(String),
    #[error("no route to {0}")]
    NoRoute(Ipv4Addr),
    #[error("{0} is a local address of this host; it has no next hop")]
    LocalAddress(Ipv4Addr),
    #[error(
        "no ARP reply from {next_hop} (next hop towards {dst}) on {ifname} after {waited_ms} ms"
    )]
    NeighbourUnresolved {
        dst: Ipv4Addr,
        next_hop: Ipv4Addr,
        ifindex: u32,
        /// The interface's name, or `#index` if it went away meanwhile.
        ifname: String,
        waited_ms: u64,
    },
    #[error("invalid prefix length /{0} (0 to 32)")]
    InvalidPrefixLen(u8),
    #[error("netlink {op}: {source}")]
    Kernel {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("netlink {op}: malformed reply: {what}")]
    Malformed {
        op: &'static str,
        what: &'static str,
    },
}

pub type Result<T> = std::result::Result<T, NetlinkError>;

/// The kernel's answer to `ip route get DST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Outgoing interface.
    pub ifindex: u32,
    /// The router to send through; `None` when `dst` is on-link.
    pub gateway: Option<Ipv4Addr>,
    /// The source address the kernel would pick.
    pub prefsrc: Option<Ipv4Addr>,
}

/// Where a frame for some destination must go at layer 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    pub ifindex: u32,
    /// The router in between, `None` when the destination is on-link.
    pub gateway: Option<Ipv4Addr>,
    /// MAC of the gateway, or of the destination itself when on-link.
    pub mac: [u8; 6],
}

/// How long [`resolve_next_hop_mac`] waits for ARP: polls × interval.
const ARP_POLLS: u32 = 20;
const ARP_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Re-send the probe datagram every this many polls, in case the first one
/// met a neighbour entry in FAILED state that needed a fresh trigger.
const ARP_REPROBE_EVERY: u32 = 5;
/// The discard port: a probe datagram there does no harm if it arrives.
const DISCARD_PORT: u16 = 9;

/// The index of interface `name`.
pub fn interface_index(name: &str) -> Result<u32> {
    Ok(get_link(LinkRef::Name(name))?.index)
}

/// The name of interface `ifindex` (`if_indextoname`).
pub fn interface_name(ifindex: u32) -> Result<String> {
    get_link(LinkRef::Index(ifindex))?
        .name
        .ok_or(malformed("RTM_GETLINK", "interface has no name"))
}

/// The hardware address of interface `name`.
pub fn interface_mac(name: &str) -> Result<[u8; 6]> {
    get_link(LinkRef::Name(name))?.mac()
}

/// The hardware address of interface `ifindex`, e.g. the source MAC for
/// frames leaving through [`NextHop::ifindex`].
pub fn interface_mac_by_index(ifindex: u32) -> Result<[u8; 6]> {
    get_link(LinkRef::Index(ifindex))?.mac()
}

/// The IPv4 addresses of interface `name`, with their prefix lengths.
pub fn interface_ipv4s(name: &str) -> Result<Vec<(Ipv4Addr, u8)>> {
    let index = interface_index(name)?;
    let op = "RTM_GETADDR";
    let request = Request::dump(abi::RTM_GETADDR).ifaddrmsg(0, 0);
    let mut addrs = Vec::new();
    for msg in Socket::open(op)?.transact(op, request)? {
        let Some(hdr) = abi::IfAddrMsg::parse(&msg.payload) else {
            return Err(malformed(op, "short ifaddrmsg"));
        };
        if hdr.family != abi::AF_INET || hdr.index != index {
            continue;
        }
        let attrs = Attrs::new(&msg.payload[abi::IfAddrMsg::LEN..]);
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the
        // peer's on point-to-point links and the same as local elsewhere.
        let addr = attrs
            .ipv4(abi::IFA_LOCAL)
            .or_else(|| attrs.ipv4(abi::IFA_ADDRESS));
        if let Some(addr) = addr {
            addrs.push((addr, hdr.prefix_len));
        }
    }
    Ok(addrs)
}

/// The route the kernel would use for `dst`, like `ip route get DST`.
pub fn route_get(dst: Ipv4Addr) -> Result<Route> {
    Ok(route_lookup(dst)?.route)
}

/// The MAC the neighbour table holds for `ip` on interface `ifindex`, if the
/// entry is usable: REACHABLE, STALE, DELAY, PROBE or PERMANENT (a STALE
/// entry still forwards; the kernel re-confirms it in the background).
/// INCOMPLETE and FAILED entries give `None`.
pub fn neighbour_mac(ifindex: u32, ip: Ipv4Addr) -> Result<Option<[u8; 6]>> {
    let op = "RTM_GETNEIGH";
    let request = Request::dump(abi::RTM_GETNEIGH).ndmsg(ifindex);
    for msg in Socket::open(op)?.transact(op, request)? {
        let Some(hdr) = abi::NdMsg::parse(&msg.payload) else {
            return Err(malformed(op, "short ndmsg"));
        };
        if hdr.family != abi::AF_INET || hdr.ifindex != ifindex || hdr.state & abi::NUD_VALID == 0 {
            continue;
        }
        let attrs = Attrs::new(&msg.payload[abi::NdMsg::LEN..]);
        if attrs.ipv4(abi::NDA_DST) != Some(ip) {
            continue;
        }
        if let Some(mac) = attrs.mac(abi::NDA_LLADDR) {
            return Ok(Some(mac));
        }
    }
    Ok(None)
}

/// The interface, gateway and MAC a frame for `dst` must be sent with: the
/// route's gateway's MAC, or `dst`'s own MAC when it is on-link. When the
/// neighbour table has no usable entry, a UDP datagram to `dst`'s discard
/// port (9) makes the kernel resolve the next hop on the way, and the table
/// is polled for up to 1 s (20 × 50 ms, re-sending every 250 ms).
pub fn resolve_next_hop_mac(dst: Ipv4Addr) -> Result<NextHop> {
    let lookup = route_lookup(dst)?;
    if lookup.is_local {
        return Err(NetlinkError::LocalAddress(dst));
    }
    let Route {
        ifindex, gateway, ..
    } = lookup.route;
    let next_hop = gateway.unwrap_or(dst);
    let found = |mac| NextHop {
        ifindex,
        gateway,
        mac,
    };
    if let Some(mac) = neighbour_mac(ifindex, next_hop)? {
        return Ok(found(mac));
    }
    // The datagram goes to `dst` so it takes exactly the route above; the
    // kernel then needs the next hop's MAC and sends ARP requests.
    let probe =
        UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(|source| NetlinkError::Kernel {
            op: "probe socket",
            source,
        })?;
    for poll in 0..ARP_POLLS {
        if poll % ARP_REPROBE_EVERY == 0 {
            // An error here (e.g. EHOSTUNREACH from an earlier FAILED
            // resolution) is expected and harmless: only the ARP matters.
            let _ = probe.send_to(b"lb-ctl arp probe", (dst, DISCARD_PORT));
        }
        thread::sleep(ARP_POLL_INTERVAL);
        if let Some(mac) = neighbour_mac(ifindex, next_hop)? {
            return Ok(found(mac));
        }
    }
    Err(NetlinkError::NeighbourUnresolved {
        dst,
        next_hop,
        ifindex,
        ifname: interface_name(ifindex).unwrap_or_else(|_| format!("#{ifindex}")),
        waited_ms: (ARP_POLL_INTERVAL * ARP_POLLS).as_millis() as u64,
    })
}

/// Adds `addr/prefix_len` to interface `ifname`, like `ip addr add`. Adding
/// an address that is already there is not an error.
pub fn add_ipv4(ifname: &str, addr: Ipv4Addr, prefix_len: u8) -> Result<()> {
    change_ipv4(
        "RTM_NEWADDR",
        abi::RTM_NEWADDR,
        abi::NLM_F_CREATE | abi::NLM_F_EXCL,
        ifname,
        addr,
        prefix_len,
    )
}

/// Removes `addr/prefix_len` from interface `ifname`, like `ip addr del`.
/// Removing an address that is not there is not an error.
pub fn del_ipv4(ifname: &str, addr: Ipv4Addr, prefix_len: u8) -> Result<()> {
    change_ipv4("RTM_DELADDR", abi::RTM_DELADDR, 0, ifname, addr, prefix_len)
}

fn change_ipv4(
    op: &'static str,
    msg_type: u16,
    flags: u16,
    ifname: &str,
    addr: Ipv4Addr,
    prefix_len: u8,
) -> Result<()> {
    if prefix_len > 32 {
        return Err(NetlinkError::InvalidPrefixLen(prefix_len));
    }
    let index = interface_index(ifname)?;
    let request = Request::new(msg_type, flags)
        .ifaddrmsg(prefix_len, index)
        .attr(abi::IFA_LOCAL, &addr.octets())
        .attr(abi::IFA_ADDRESS, &addr.octets());
    match Socket::open(op)?.transact(op, request) {
        Ok(_) => Ok(()),
        // Already there (add) / already gone (del): the wanted state holds.
        Err(NetlinkError::Kernel { source, .. })
            if matches!(
                (msg_type, source.raw_os_error()),
                (abi::RTM_NEWADDR, Some(libc::EEXIST))
                    | (abi::RTM_DELADDR, Some(libc::EADDRNOTAVAIL))
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Which interface to ask about.
enum LinkRef<'a> {
    Name(&'a str),
    Index(u32),
}

impl LinkRef<'_> {
    fn missing(&self) -> NetlinkError {
        NetlinkError::NoSuchInterface(match self {
            LinkRef::Name(name) => name.to_string(),
            LinkRef::Index(index) => format!("#{index}"),
        })
    }
}

struct Link {
    index: u32,
    name: Option<String>,
    mac: Option<[u8; 6]>,
}

impl Link {
    fn mac(self) -> Result<[u8; 6]> {
        self.mac.ok_or(malformed(
            "RTM_GETLINK",
            "interface has no 6-byte hardware address",
        ))
    }
}

fn get_link(link: LinkRef) -> Result<Link> {
    let op = "RTM_GETLINK";
    let request = match link {
        LinkRef::Name(name) => {
            if name.is_empty() || name.len() >= abi::IFNAMSIZ || name.contains(['\0', '/']) {
                return Err(NetlinkError::InvalidInterfaceName(name.to_string()));
            }
            let mut name_z = name.as_bytes().to_vec();
            name_z.push(0);
            Request::new(abi::RTM_GETLINK, 0)
                .ifinfomsg(0)
                .attr(abi::IFLA_IFNAME, &name_z)
        }
        // Index 0 would mean "look up by name" to the kernel, and indexes
        // are positive `int`s there.
        LinkRef::Index(index) if index == 0 || index > i32::MAX as u32 => {
            return Err(link.missing())
        }
        LinkRef::Index(index) => Request::new(abi::RTM_GETLINK, 0).ifinfomsg(index),
    };
    let replies = match Socket::open(op)?.transact(op, request) {
        Err(NetlinkError::Kernel { source, .. }) if source.raw_os_error() == Some(libc::ENODEV) => {
            return Err(link.missing())
        }
        other => other?,
    };
    let msg = replies
        .iter()
        .find(|m| m.msg_type == abi::RTM_NEWLINK)
        .ok_or(malformed(op, "no RTM_NEWLINK in the reply"))?;
    let index = abi::IfInfoMsg::parse(&msg.payload)
        .ok_or(malformed(op, "short ifinfomsg"))?
        .index;
    let attrs = Attrs::new(&msg.payload[abi::IfInfoMsg::LEN..]);
    let name = attrs
        .get(abi::IFLA_IFNAME)
        .map(|b| String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap_or(b)).into_owned());
    Ok(Link {
        index,
        name,
        mac: attrs.mac(abi::IFLA_ADDRESS),
    })
}

struct RouteLookup {
    route: Route,
    /// The destination is one of our own addresses (route type local).
    is_local: bool,
}

fn route_lookup(dst: Ipv4Addr) -> Result<RouteLookup> {
    let op = "RTM_GETROUTE";
    let request = Request::new(abi::RTM_GETROUTE, 0)
        .rtmsg(32)
        .attr(abi::RTA_DST, &dst.octets());
    let replies = match Socket::open(op)?.transact(op, request) {
        Err(NetlinkError::Kernel { source, .. })
            if matches!(
                source.raw_os_error(),
                Some(libc::ENETUNREACH | libc::EHOSTUNREACH)
            ) =>
        {
            return Err(NetlinkError::NoRoute(dst))
        }
        other => other?,
    };
    let msg = replies
        .iter()
        .find(|m| m.msg_type == abi::RTM_NEWROUTE)
        .ok_or(malformed(op, "no RTM_NEWROUTE in the reply"))?;
    let hdr = abi::RtMsg::parse(&msg.payload).ok_or(malformed(op, "short rtmsg"))?;
    if matches!(
        hdr.route_type,
        abi::RTN_UNREACHABLE | abi::RTN_BLACKHOLE | abi::RTN_PROHIBIT
    ) {
        return Err(NetlinkError::NoRoute(dst));
    }
    let attrs = Attrs::new(&msg.payload[abi::RtMsg::LEN..]);
    let ifindex = attrs
        .u32(abi::RTA_OIF)
        .ok_or(malformed(op, "route has no output interface"))?;
    Ok(RouteLookup {
        route: Route {
            ifindex,
            gateway: attrs.ipv4(abi::RTA_GATEWAY),
            prefsrc: attrs.ipv4(abi::RTA_PREFSRC),
        },
        is_local: hdr.route_type == abi::RTN_LOCAL,
    })
}

fn malformed(op: &'static str, what: &'static str) -> NetlinkError {
    NetlinkError::Malformed { op, what }
}

/// One netlink message of a reply: its type and the bytes after the header.
struct Message {
    msg_type: u16,
    payload: Vec<u8>,
}

/// A request under construction: header, fixed struct, then attributes.
struct Request {
    buf: Vec<u8>,
}

impl Request {
    /// A request that changes or fetches one object. It asks for an ack,
    /// so its reply always ends with an NLMSG_ERROR message (error 0 on
    /// success).
    fn new(msg_type: u16, flags: u16) -> Request {
        Request::with_flags(msg_type, flags | abi::NLM_F_ACK)
    }

    /// A dump of a whole table; its reply ends with NLMSG_DONE.
    fn dump(msg_type: u16) -> Request {
        Request::with_flags(msg_type, abi::NLM_F_DUMP)
    }

    fn with_flags(msg_type: u16, flags: u16) -> Request {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set by finish()
        buf.extend_from_slice(&msg_type.to_ne_bytes());
        buf.extend_from_slice(&(flags | abi::NLM_F_REQUEST).to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // seq, set by finish()
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
        Request { buf }
    }

    fn ifinfomsg(mut self, index: u32) -> Self {
        self.buf.extend_from_slice(&[0u8; 4]); // family, pad, type
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&[0u8; 8]); // flags, change
        self
    }

    fn ifaddrmsg(mut self, prefix_len: u8, index: u32) -> Self {
        self.buf
            .extend_from_slice(&[abi::AF_INET, prefix_len, 0, 0]);
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self
    }

    fn rtmsg(mut self, dst_len: u8) -> Self {
        self.buf
            .extend_from_slice(&[abi::AF_INET, dst_len, 0, 0, 0, 0, 0, 0]);
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self
    }

    fn ndmsg(mut self, ifindex: u32) -> Self {
        self.buf.extend_from_slice(&[abi::AF_INET, 0, 0, 0]);
        self.buf.extend_from_slice(&ifindex.to_ne_bytes());
        self.buf.extend_from_slice(&[0u8; 4]); // state, flags, type
        self
    }

    fn attr(mut self, attr_type: u16, data: &[u8]) -> Self {
        let len = (abi::RTA_HDR_LEN + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&attr_type.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

/// A `NETLINK_ROUTE` socket with a receive timeout, so a silent kernel
/// can't hang the caller.
struct Socket {
    fd: OwnedFd,
}

/// Sequence numbers only need to tell our own replies apart.
static NEXT_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

impl Socket {
    const RECV_TIMEOUT: Duration = Duration::from_secs(2);

    fn open(op: &'static str) -> Result<Socket> {
        let kernel = |source| NetlinkError::Kernel { op, source };
        // SAFETY: plain socket(2) call; the fd is owned right away.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if raw < 0 {
            return Err(kernel(io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a fresh, valid descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let timeout = libc::timeval {
            tv_sec: Self::RECV_TIMEOUT.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        // SAFETY: the option value points to a live timeval of the right size.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &timeout as *const libc::timeval as *const libc::c_void,
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(kernel(io::Error::last_os_error()));
        }
        Ok(Socket { fd })
    }

    /// Sends `request` and collects the reply messages: everything up to
    /// NLMSG_DONE for a dump, up to the ack for other requests. A kernel
    /// error becomes `NetlinkError::Kernel` with its errno.
    fn transact(&self, op: &'static str, request: Request) -> Result<Vec<Message>> {
        let kernel = |source| NetlinkError::Kernel { op, source };
        let seq = NEXT_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let bytes = request.finish(seq);
        // SAFETY: `addr` is a zeroed sockaddr_nl addressed to the kernel
        // (port id 0); the buffer is live for the call.
        let sent = unsafe {
            let mut addr: libc::sockaddr_nl = std::mem::zeroed();
            addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
            libc::sendto(
                self.fd.as_raw_fd(),
                bytes.as_ptr() as *const libc::c_void,
                bytes.len(),
                0,
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(kernel(io::Error::last_os_error()));
        }

        let mut messages = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: reads at most buf.len() bytes into the live buffer.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                )
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(kernel(err));
            }
            for (header, payload) in
                split_messages(&buf[..n as usize]).map_err(|what| malformed(op, what))?
            {
                if header.seq != seq {
                    continue; // a stale reply to someone else's request
                }
                match header.msg_type {
                    abi::NLMSG_DONE => return Ok(messages),
                    abi::NLMSG_ERROR => {
                        let errno = payload
                            .get(0..4)
                            .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
                            .ok_or(malformed(op, "short NLMSG_ERROR"))?;
                        if errno == 0 {
                            return Ok(messages); // the ack
                        }
                        return Err(kernel(io::Error::from_raw_os_error(-errno)));
                    }
                    abi::NLMSG_NOOP => {}
                    msg_type => messages.push(Message {
                        msg_type,
                        payload: payload.to_vec(),
                    }),
                }
            }
        }
    }
}

struct MsgHeader {
    msg_type: u16,
    seq: u32,
}

/// Splits a datagram into (header, payload) pairs.
fn split_messages(mut data: &[u8]) -> std::result::Result<Vec<(MsgHeader, &[u8])>, &'static str> {
    let mut out = Vec::new();
    while data.len() >= abi::NLMSG_HDR_LEN {
        let len = u32::from_ne_bytes(data[0..4].try_into().unwrap()) as usize;
        if len < abi::NLMSG_HDR_LEN || len > data.len() {
            return Err("message length out of bounds");
        }
        let header = MsgHeader {
            msg_type: u16::from_ne_bytes(data[4..6].try_into().unwrap()),
            seq: u32::from_ne_bytes(data[8..12].try_into().unwrap()),
        };
        out.push((header, &data[abi::NLMSG_HDR_LEN..len]));
        data = &data[align4(len).min(data.len())..];
    }
    Ok(out)
}

/// The attributes after a message's fixed struct.
struct Attrs<'a> {
    data: &'a [u8],
}

impl<'a> Attrs<'a> {
    fn new(data: &'a [u8]) -> Self {
        Attrs { data }
    }

    /// The payload of the first attribute of `attr_type`. A truncated
    /// attribute ends the walk rather than panicking.
    fn get(&self, attr_type: u16) -> Option<&'a [u8]> {
        let mut rest = self.data;
        while rest.len() >= abi::RTA_HDR_LEN {
            let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
            let ty = u16::from_ne_bytes([rest[2], rest[3]]) & abi::NLA_TYPE_MASK;
            if len < abi::RTA_HDR_LEN || len > rest.len() {
                return None;
            }
            if ty == attr_type {
                return Some(&rest[abi::RTA_HDR_LEN..len]);
            }
            rest = &rest[align4(len).min(rest.len())..];
        }
        None
    }

    fn ipv4(&self, attr_type: u16) -> Option<Ipv4Addr> {
        let b: [u8; 4] = self.get(attr_type)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    fn mac(&self, attr_type: u16) -> Option<[u8; 6]> {
        self.get(attr_type)?.try_into().ok()
    }

    fn u32(&self, attr_type: u16) -> Option<u32> {
        Some(u32::from_ne_bytes(self.get(attr_type)?.try_into().ok()?))
    }
}

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// The slice of the rtnetlink ABI used here (linux/netlink.h,
/// linux/rtnetlink.h, linux/if_addr.h, linux/if_link.h, linux/neighbour.h).
mod abi {
    pub const AF_INET: u8 = 2;
    pub const IFNAMSIZ: usize = 16;

    pub const NLMSG_HDR_LEN: usize = 16;
    pub const NLMSG_NOOP: u16 = 1;
    pub const NLMSG_ERROR: u16 = 2;
    pub const NLMSG_DONE: u16 = 3;
    pub const NLM_F_REQUEST: u16 = 0x01;
    pub const NLM_F_ACK: u16 = 0x04;
    // The 0x100-0x800 bits mean different things for GET and NEW requests.
    pub const NLM_F_DUMP: u16 = 0x300; // NLM_F_ROOT | NLM_F_MATCH (GET)
    pub const NLM_F_EXCL: u16 = 0x200; // (NEW)
    pub const NLM_F_CREATE: u16 = 0x400;

    pub const RTA_HDR_LEN: usize = 4;
    /// Attribute types may carry the NESTED / NET_BYTEORDER flag bits.
    pub const NLA_TYPE_MASK: u16 = 0x3fff;

    pub const RTM_NEWLINK: u16 = 16;
    pub const RTM_GETLINK: u16 = 18;
    pub const RTM_NEWADDR: u16 = 20;
    pub const RTM_DELADDR: u16 = 21;
    pub const RTM_GETADDR: u16 = 22;
    pub const RTM_NEWROUTE: u16 = 24;
    pub const RTM_GETROUTE: u16 = 26;
    pub const RTM_GETNEIGH: u16 = 30;

    pub const IFLA_ADDRESS: u16 = 1;
    pub const IFLA_IFNAME: u16 = 3;
    pub const IFA_ADDRESS: u16 = 1;
    pub const IFA_LOCAL: u16 = 2;
    pub const RTA_DST: u16 = 1;
    pub const RTA_OIF: u16 = 4;
    pub const RTA_GATEWAY: u16 = 5;
    pub const RTA_PREFSRC: u16 = 7;
    pub const NDA_DST: u16 = 1;
    pub const NDA_LLADDR: u16 = 2;

    pub const RTN_LOCAL: u8 = 2;
    pub const RTN_BLACKHOLE: u8 = 6;
    pub const RTN_UNREACHABLE: u8 = 7;
    pub const RTN_PROHIBIT: u8 = 8;

    /// Neighbour states whose MAC can be used: REACHABLE | STALE | DELAY |
    /// PROBE | PERMANENT.
    pub const NUD_VALID: u16 = 0x02 | 0x04 | 0x08 | 0x10 | 0x80;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_ne_bytes(b[at..at + 4].try_into().unwrap())
    }

    /// struct ifinfomsg (16 bytes).
    pub struct IfInfoMsg {
        pub index: u32,
    }
    impl IfInfoMsg {
        pub const LEN: usize = 16;
        pub fn parse(b: &[u8]) -> Option<Self> {
            (b.len() >= Self::LEN).then(|| IfInfoMsg {
                index: u32_at(b, 4),
            })
        }
    }

    /// struct ifaddrmsg (8 bytes).
    pub struct IfAddrMsg {
        pub family: u8,
        pub prefix_len: u8,
        pub index: u32,
    }
    impl IfAddrMsg {
        pub const LEN: usize = 8;
        pub fn parse(b: &[u8]) -> Option<Self> {
            (b.len() >= Self::LEN).then(|| IfAddrMsg {
                family: b[0],
                prefix_len: b[1],
                index: u32_at(b, 4),
            })
        }
    }

    /// struct rtmsg (12 bytes).
    pub struct RtMsg {
        pub route_type: u8,
    }
    impl RtMsg {
        pub const LEN: usize = 12;
        pub fn parse(b: &[u8]) -> Option<Self> {
            (b.len() >= Self::LEN).then(|| RtMsg { route_type: b[7] })
        }
    }

    /// struct ndmsg (12 bytes).
    pub struct NdMsg {
        pub family: u8,
        pub ifindex: u32,
        pub state: u16,
    }
    impl NdMsg {
        pub const LEN: usize = 12;
        pub fn parse(b: &[u8]) -> Option<Self> {
            (b.len() >= Self::LEN).then(|| NdMsg {
                family: b[0],
                ifindex: u32_at(b, 4),
                state: u16::from_ne_bytes([b[8], b[9]]),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_framed_and_aligned() {
        let bytes = Request::new(abi::RTM_GETROUTE, 0)
            .rtmsg(32)
            .attr(abi::RTA_DST, &[198, 18, 0, 21])
            .attr(abi::IFLA_IFNAME, b"eth0\0")
            .finish(7);
        // 16 header + 12 rtmsg + 8 RTA_DST + (4 + 5 → 12) IFNAME
        assert_eq!(bytes.len(), 48);
        assert_eq!(u32::from_ne_bytes(bytes[0..4].try_into().unwrap()), 48);
        assert_eq!(
            u16::from_ne_bytes(bytes[4..6].try_into().unwrap()),
            abi::RTM_GETROUTE
        );
        let flags = u16::from_ne_bytes(bytes[6..8].try_into().unwrap());
        assert_eq!(flags, abi::NLM_F_REQUEST | abi::NLM_F_ACK);
        assert_eq!(u32::from_ne_bytes(bytes[8..12].try_into().unwrap()), 7);
        let attrs = Attrs::new(&bytes[16 + abi::RtMsg::LEN..]);
        assert_eq!(
            attrs.ipv4(abi::RTA_DST),
            Some(Ipv4Addr::new(198, 18, 0, 21))
        );
        assert_eq!(attrs.get(abi::IFLA_IFNAME), Some(&b"eth0\0"[..]));
        assert_eq!(attrs.get(99), None);
    }

    #[test]
    fn dumps_ask_for_no_ack() {
        let bytes = Request::dump(abi::RTM_GETADDR).ifaddrmsg(0, 0).finish(1);
        let flags = u16::from_ne_bytes(bytes[6..8].try_into().unwrap());
        assert_eq!(flags, abi::NLM_F_REQUEST | abi::NLM_F_DUMP);
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let good = Request::new(abi::RTM_GETLINK, 0).ifinfomsg(0).finish(3);
        assert_eq!(split_messages(&good).unwrap().len(), 1);
        let mut lying = good.clone();
        lying[0] = 200; // claims more bytes than there are
        assert!(split_messages(&lying).is_err());
        // A truncated attribute is simply not found.
        let attrs = Attrs::new(&[8, 0, 1, 0, 1, 2]);
        assert_eq!(attrs.get(1), None);
        assert_eq!(Attrs::new(&[]).ipv4(1), None);
        // Wrong-sized payloads don't parse as addresses.
        let attrs_bytes = Request::new(0, 0)
            .attr(abi::NDA_LLADDR, &[1, 2, 3])
            .finish(0);
        assert_eq!(Attrs::new(&attrs_bytes[16..]).mac(abi::NDA_LLADDR), None);
    }

    #[test]
    fn bad_arguments_are_rejected_before_the_kernel() {
        for bad in ["", "a-name-that-is-too-long", "a/b", "nul\0"] {
            assert!(matches!(
                interface_index(bad),
                Err(NetlinkError::InvalidInterfaceName(_))
            ));
        }
        assert!(matches!(
            add_ipv4("lo", Ipv4Addr::LOCALHOST, 33),
            Err(NetlinkError::InvalidPrefixLen(33))
        ));
    }

    #[test]
    fn loopback_is_visible() {
        // Every namespace has `lo` with index 1 and 127.0.0.1/8.
        assert_eq!(interface_index("lo").unwrap(), 1);
        assert_eq!(interface_name(1).unwrap(), "lo");
        assert_eq!(interface_mac("lo").unwrap(), [0; 6]);
        assert_eq!(interface_mac_by_index(1).unwrap(), [0; 6]);
        for missing in [0, u32::MAX] {
            let err = interface_name(missing).unwrap_err();
            assert!(matches!(err, NetlinkError::NoSuchInterface(_)), "{err:?}");
        }
        assert!(interface_ipv4s("lo")
            .unwrap()
            .contains(&(Ipv4Addr::LOCALHOST, 8)));
        assert!(matches!(
            interface_index("nosuchif0"),
            Err(NetlinkError::NoSuchInterface(_))
        ));
        let err = resolve_next_hop_mac(Ipv4Addr::LOCALHOST).unwrap_err();
        assert!(matches!(err, NetlinkError::LocalAddress(_)), "{err}");
        assert_eq!(route_get(Ipv4Addr::LOCALHOST).unwrap().ifindex, 1);
    }
}
