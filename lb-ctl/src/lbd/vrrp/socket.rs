//! The VRRP raw socket: IP protocol 112 on one interface, joined to
//! 224.0.0.18, sending with our own IPv4 header (IP_HDRINCL) so the source
//! address and TTL 255 are exactly what RFC 5798 asks.

use super::packet::{ipv4_header, split_ipv4, Advert, IPPROTO_VRRP, VRRP_GROUP, VRRP_TTL};
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use tokio::io::unix::AsyncFd;

pub struct VrrpSocket {
    fd: AsyncFd<OwnedFd>,
}

/// A received, verified advert.
#[derive(Debug, Clone)]
pub struct Received {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub advert: Advert,
}

fn check(rc: libc::c_int, what: &str) -> io::Result<()> {
    if rc < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("{what}: {e}")));
    }
    Ok(())
}

fn setsockopt<T>(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
    what: &str,
) -> io::Result<()> {
    // SAFETY: value points to a live T of the size we pass.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            value as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    check(rc, what)
}

fn sockaddr(addr: Ipv4Addr) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(addr.octets()),
        },
        sin_zero: [0; 8],
    }
}

impl VrrpSocket {
    /// Opens the socket on `ifname` (index `ifindex`); joins the VRRP
    /// group unless adverts go by unicast only.
    pub fn open(ifname: &str, ifindex: u32, multicast: bool) -> io::Result<VrrpSocket> {
        // SAFETY: plain socket(2); the fd is owned right away.
        let raw = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                IPPROTO_VRRP as libc::c_int,
            )
        };
        check(raw, "socket(AF_INET, SOCK_RAW, 112)")?;
        // SAFETY: raw is a fresh fd nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut name = [0u8; libc::IFNAMSIZ];
        let len = ifname.len().min(libc::IFNAMSIZ - 1);
        name[..len].copy_from_slice(&ifname.as_bytes()[..len]);
        setsockopt(
            &fd,
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            &name,
            "SO_BINDTODEVICE",
        )?;
        let one: libc::c_int = 1;
        setsockopt(&fd, libc::IPPROTO_IP, libc::IP_HDRINCL, &one, "IP_HDRINCL")?;
        let zero: libc::c_int = 0;
        setsockopt(
            &fd,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_LOOP,
            &zero,
            "IP_MULTICAST_LOOP",
        )?;
        let ttl: libc::c_int = VRRP_TTL as libc::c_int;
        setsockopt(
            &fd,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_TTL,
            &ttl,
            "IP_MULTICAST_TTL",
        )?;
        if multicast {
            let mreq = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(VRRP_GROUP.octets()),
                },
                imr_address: libc::in_addr { s_addr: 0 },
                imr_ifindex: ifindex as libc::c_int,
            };
            setsockopt(
                &fd,
                libc::IPPROTO_IP,
                libc::IP_ADD_MEMBERSHIP,
                &mreq,
                "IP_ADD_MEMBERSHIP",
            )?;
            setsockopt(
                &fd,
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_IF,
                &mreq,
                "IP_MULTICAST_IF",
            )?;
        }
        // SAFETY: the OwnedFd stays valid and unreplaced while the AsyncFd
        // owns it.
        let fd = unsafe { AsyncFd::register(fd)? };
        Ok(VrrpSocket { fd })
    }

    /// Sends `advert` from `src` to `dst` (the group or a unicast peer).
    pub fn send(&self, advert: &Advert, src: Ipv4Addr, dst: Ipv4Addr) -> io::Result<()> {
        let payload = advert.encode(src, dst);
        let mut packet = ipv4_header(src, dst, payload.len()).to_vec();
        packet.extend_from_slice(&payload);
        let to = sockaddr(dst);
        // SAFETY: packet and to outlive the call; lengths are theirs.
        let rc = unsafe {
            libc::sendto(
                self.fd.get_ref().as_raw_fd(),
                packet.as_ptr() as *const libc::c_void,
                packet.len(),
                0,
                &to as *const libc::sockaddr_in as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        check(rc as libc::c_int, "sendto")
    }

    /// Waits for the next packet. Packets that are not valid VRRPv3 (bad
    /// TTL, checksum, version) are returned as `Err(reason)` in the inner
    /// result so the caller can count and log them.
    pub async fn recv(&self) -> io::Result<Result<Received, String>> {
        let mut buf = [0u8; 1500];
        loop {
            let mut guard = self.fd.readable().await?;
            // SAFETY: buf is writable for its whole length.
            let n = unsafe {
                libc::recv(
                    self.fd.get_ref().as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock {
                    guard.clear_ready();
                    continue;
                }
                return Err(e);
            }
            return Ok(parse(&buf[..n as usize]));
        }
    }
}

fn parse(packet: &[u8]) -> Result<Received, String> {
    let (src, dst, ttl, body) = split_ipv4(packet).ok_or("not an IPv4 VRRP packet")?;
    if ttl != VRRP_TTL {
        return Err(format!(
            "from {src}: TTL {ttl}, want 255 (sent from another subnet?)"
        ));
    }
    let advert = Advert::decode(src, dst, body).map_err(|e| format!("from {src}: {e}"))?;
    Ok(Received { src, dst, advert })
}
