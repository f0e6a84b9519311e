//! The VRRPv3 advertisement (RFC 5798 §5.1) for IPv4, with its checksum
//! over the IPv4 pseudo-header (§5.2.8), as keepalived computes it.

use std::net::Ipv4Addr;

pub const IPPROTO_VRRP: u8 = 112;
pub const VRRP_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const VRRP_TTL: u8 = 255;
const VERSION: u8 = 3;
const TYPE_ADVERTISEMENT: u8 = 1;
const HEADER_LEN: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub vrid: u8,
    pub priority: u8,
    /// Max Adver Int, centiseconds (12 bits).
    pub max_advert_centis: u16,
    pub addresses: Vec<Ipv4Addr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    TooShort(usize),
    Version(u8),
    Type(u8),
    Length { count: u8, len: usize },
    Checksum,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::TooShort(n) => write!(f, "{n} bytes is too short for VRRP"),
            DecodeError::Version(v) => write!(f, "VRRP version {v}, we speak 3"),
            DecodeError::Type(t) => write!(f, "VRRP type {t} is not an advertisement"),
            DecodeError::Length { count, len } => {
                write!(f, "{count} addresses do not fit in {len} bytes")
            }
            DecodeError::Checksum => write!(f, "bad VRRP checksum"),
        }
    }
}

impl Advert {
    /// The VRRP message (no IP header), checksummed for src → dst.
    pub fn encode(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
        let mut b = Vec::with_capacity(HEADER_LEN + 4 * self.addresses.len());
        b.push((VERSION << 4) | TYPE_ADVERTISEMENT);
        b.push(self.vrid);
        b.push(self.priority);
        b.push(self.addresses.len() as u8);
        b.extend_from_slice(&(self.max_advert_centis & 0x0fff).to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        for a in &self.addresses {
            b.extend_from_slice(&a.octets());
        }
        let sum = checksum(src, dst, &b);
        b[6..8].copy_from_slice(&sum.to_be_bytes());
        b
    }

    /// Parses and verifies a VRRP message received from src to dst.
    pub fn decode(src: Ipv4Addr, dst: Ipv4Addr, b: &[u8]) -> Result<Advert, DecodeError> {
        if b.len() < HEADER_LEN {
            return Err(DecodeError::TooShort(b.len()));
        }
        if b[0] >> 4 != VERSION {
            return Err(DecodeError::Version(b[0] >> 4));
        }
        if b[0] & 0x0f != TYPE_ADVERTISEMENT {
            return Err(DecodeError::Type(b[0] & 0x0f));
        }
        let count = b[3];
        let needed = HEADER_LEN + 4 * count as usize;
        if b.len() < needed {
            return Err(DecodeError::Length {
                count,
                len: b.len(),
            });
        }
        // The sum over a message holding its own checksum is 0.
        if checksum(src, dst, &b[..needed]) != 0 {
            return Err(DecodeError::Checksum);
        }
        let addresses = b[HEADER_LEN..needed]
            .chunks_exact(4)
            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
            .collect();
        Ok(Advert {
            vrid: b[1],
            priority: b[2],
            max_advert_centis: u16::from_be_bytes([b[4], b[5]]) & 0x0fff,
            addresses,
        })
    }
}

/// The internet checksum of the pseudo-header (src, dst, 0, 112, length)
/// followed by `msg`.
pub fn checksum(src: Ipv4Addr, dst: Ipv4Addr, msg: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, IPPROTO_VRRP]);
    pseudo.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    let sum = ones_sum(&pseudo) + ones_sum(msg);
    !fold(sum)
}

fn ones_sum(b: &[u8]) -> u32 {
    b.chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum()
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// An IPv4 header for an advert (we send with IP_HDRINCL so the source
/// and TTL are exactly ours). The kernel fills in the id and checksum.
pub fn ipv4_header(src: Ipv4Addr, dst: Ipv4Addr, payload_len: usize) -> [u8; 20] {
    let total = (20 + payload_len) as u16;
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[1] = 0xc0; // DSCP CS6 (network control), as keepalived sends.
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[8] = VRRP_TTL;
    h[9] = IPPROTO_VRRP;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    h
}

/// Splits a received IPv4 packet: (src, dst, ttl, payload) when it is VRRP.
pub fn split_ipv4(packet: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, u8, &[u8])> {
    if packet.len() < 20 || packet[0] >> 4 != 4 || packet[9] != IPPROTO_VRRP {
        return None;
    }
    let ihl = (packet[0] & 0x0f) as usize * 4;
    let total = (u16::from_be_bytes([packet[2], packet[3]]) as usize).min(packet.len());
    if ihl < 20 || total < ihl {
        return None;
    }
    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    Some((src, dst, packet[8], &packet[ihl..total]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 11);

    fn advert() -> Advert {
        Advert {
            vrid: 51,
            priority: 100,
            max_advert_centis: 100,
            addresses: vec![Ipv4Addr::new(198, 18, 0, 100)],
        }
    }

    #[test]
    fn encode_matches_the_rfc_layout() {
        let b = advert().encode(SRC, VRRP_GROUP);
        assert_eq!(&b[..6], &[0x31, 51, 100, 1, 0, 100]);
        assert_eq!(&b[8..], &[198, 18, 0, 100]);
        // Checksum computed by hand: pseudo-header + message words.
        let words: u32 = [0xc612, 0x000b, 0xe000, 0x0012, 0x0070, 0x000c]
            .iter()
            .chain(&[0x3133, 0x6401, 0x0064, 0x0000, 0xc612, 0x0064])
            .sum();
        let folded = (words & 0xffff) + (words >> 16);
        assert_eq!(u16::from_be_bytes([b[6], b[7]]), !(folded as u16));
    }

    #[test]
    fn decode_inverts_encode_and_checks_the_checksum() {
        let b = advert().encode(SRC, VRRP_GROUP);
        assert_eq!(Advert::decode(SRC, VRRP_GROUP, &b).unwrap(), advert());
        // The pseudo-header is covered: another destination fails.
        assert_eq!(
            Advert::decode(SRC, Ipv4Addr::new(198, 18, 0, 12), &b),
            Err(DecodeError::Checksum)
        );
        let mut bad = b.clone();
        bad[2] = 101;
        assert_eq!(
            Advert::decode(SRC, VRRP_GROUP, &bad),
            Err(DecodeError::Checksum)
        );
        let mut v2 = b.clone();
        v2[0] = 0x21;
        assert_eq!(
            Advert::decode(SRC, VRRP_GROUP, &v2),
            Err(DecodeError::Version(2))
        );
        assert!(matches!(
            Advert::decode(SRC, VRRP_GROUP, &b[..10]),
            Err(DecodeError::Length { .. })
        ));
        assert_eq!(
            Advert::decode(SRC, VRRP_GROUP, &b[..3]),
            Err(DecodeError::TooShort(3))
        );
    }

    #[test]
    fn ipv4_packets_are_split() {
        let payload = advert().encode(SRC, VRRP_GROUP);
        let mut p = ipv4_header(SRC, VRRP_GROUP, payload.len()).to_vec();
        p.extend_from_slice(&payload);
        let (s, d, ttl, body) = split_ipv4(&p).unwrap();
        assert_eq!((s, d, ttl, body), (SRC, VRRP_GROUP, 255, &payload[..]));
        p[9] = 6;
        assert!(split_ipv4(&p).is_none());
    }
}
