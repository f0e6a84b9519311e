//! UDP answers from the address a request was sent to.
//!
//! A DR or TUN real server receives requests for the VIP (held on `lo`), but a socket bound to
//! 0.0.0.0 answers from the address the route picks, i.e. the real server's own address. The
//! client's socket, connected to the VIP, then ignores the answer. Like DNS servers, we read the
//! destination of each datagram (IP_PKTINFO) and send the answer from it.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;

/// Room for one IP_PKTINFO control message (CMSG_SPACE(12) = 32 on 64-bit Linux), aligned
/// as cmsghdr requires.
#[repr(C, align(8))]
struct ControlBuf([u8; 64]);

/// A msghdr over one address, one buffer and the whole control buffer. The pointers it holds
/// are only valid while the three borrowed values live, so use it right away.
fn message(
    peer: &mut libc::sockaddr_in,
    iov: &mut libc::iovec,
    control: &mut ControlBuf,
) -> libc::msghdr {
    // SAFETY: all-zero is a valid msghdr.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (peer as *mut libc::sockaddr_in).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = control.0.len();
    msg
}

/// Asks the kernel to report each datagram's destination address.
pub fn enable(socket: &UdpSocket) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: valid fd, option value points to a live c_int of the given size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Receives one datagram: (length, sender, destination address if the kernel reported it).
pub fn recv_with_dst(
    socket: &UdpSocket,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddrV4, Option<Ipv4Addr>)> {
    // SAFETY: all-zero is a valid sockaddr_in.
    let mut peer: libc::sockaddr_in = unsafe { zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = ControlBuf([0; 64]);
    let mut msg = message(&mut peer, &mut iov, &mut control);
    // SAFETY: every pointer in msg refers to a live local buffer of the stated size.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut dst = None;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel just filled in, bounded by
    // msg.msg_controllen; the payload is read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::IPPROTO_IP && (*cmsg).cmsg_type == libc::IP_PKTINFO {
                let info: libc::in_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                dst = Some(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)));
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    let peer = SocketAddrV4::new(
        Ipv4Addr::from(u32::from_be(peer.sin_addr.s_addr)),
        u16::from_be(peer.sin_port),
    );
    Ok((n as usize, peer, dst))
}

/// Sends `data` to `to` with source address `from`.
pub fn send_from(
    socket: &UdpSocket,
    data: &[u8],
    to: SocketAddrV4,
    from: Ipv4Addr,
) -> io::Result<()> {
    let mut peer = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: to.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*to.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let mut iov = libc::iovec {
        // sendmsg only reads the buffer; the iovec type is shared with recvmsg.
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let info = libc::in_pktinfo {
        ipi_ifindex: 0,
        ipi_spec_dst: libc::in_addr {
            s_addr: u32::from(from).to_be(),
        },
        ipi_addr: libc::in_addr { s_addr: 0 },
    };
    let mut control = ControlBuf([0; 64]);
    let mut msg = message(&mut peer, &mut iov, &mut control);
    // SAFETY: CMSG_SPACE/LEN are arithmetic; the one header fits in the 64-byte buffer.
    unsafe {
        msg.msg_controllen = libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) as usize;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::IPPROTO_IP;
        (*cmsg).cmsg_type = libc::IP_PKTINFO;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
    }
    // SAFETY: msg is fully initialised and its buffers outlive the call.
    let n = unsafe { libc::sendmsg(socket.as_raw_fd(), &msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
