//! Ziplists, the compact encoding of RDB versions before 10 (Redis 6.2 and
//! older), which Redis 7.0 still accepts in DUMP payloads: 4-byte total
//! size, 4-byte tail offset, 2-byte count, entries, 0xFF. Each entry holds
//! the previous entry's length (1 or 5 bytes), an encoding, and its data.

use super::decode::BadData;
use crate::types::Sds;

/// The entries of a ziplist, integers as text.
pub fn ziplist_entries(zl: &[u8]) -> Result<Vec<Sds>, BadData> {
    const HEADER: usize = 10;
    const END: u8 = 0xff;
    const UNKNOWN_COUNT: u16 = u16::MAX;
    if zl.len() < HEADER + 1 || zl[zl.len() - 1] != END {
        return Err(BadData);
    }
    let total = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    let declared = u16::from_le_bytes([zl[8], zl[9]]);
    if total != zl.len() {
        return Err(BadData);
    }
    let mut entries = Vec::new();
    let mut pos = HEADER;
    loop {
        let first = *zl.get(pos).ok_or(BadData)?;
        if first == END {
            if pos != zl.len() - 1 {
                return Err(BadData);
            }
            break;
        }
        let prevlen_size = if first < 254 { 1 } else { 5 };
        let (entry, size) = entry_at(zl.get(pos + prevlen_size..).ok_or(BadData)?)?;
        entries.push(entry);
        pos += prevlen_size + size;
    }
    if declared != UNKNOWN_COUNT && declared as usize != entries.len() {
        return Err(BadData);
    }
    Ok(entries)
}

/// One entry after its prevlen: value and size (encoding plus data).
fn entry_at(p: &[u8]) -> Result<(Sds, usize), BadData> {
    let at = |i: usize| p.get(i).copied().ok_or(BadData);
    let bytes = |from: usize, n: usize| p.get(from..from + n).ok_or(BadData);
    let int = |n: usize| -> Result<(Sds, usize), BadData> {
        // Little-endian, sign-extended from n bytes.
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(bytes(1, n)?);
        let shift = 64 - 8 * n as u32;
        let v = (i64::from_le_bytes(buf) << shift) >> shift;
        Ok((Sds::from_slice(v.to_string().as_bytes()), 1 + n))
    };
    let string = |header: usize, len: usize| -> Result<(Sds, usize), BadData> {
        Ok((Sds::from_slice(bytes(header, len)?), header + len))
    };
    let enc = at(0)?;
    match enc {
        0x00..=0x3f => string(1, (enc & 0x3f) as usize),
        0x40..=0x7f => string(2, (((enc & 0x3f) as usize) << 8) | at(1)? as usize),
        0x80 => {
            let len = u32::from_be_bytes(bytes(1, 4)?.try_into().map_err(|_| BadData)?);
            string(5, len as usize)
        }
        0xc0 => int(2),
        0xd0 => int(4),
        0xe0 => int(8),
        0xf0 => int(3),
        0xfe => int(1),
        0xf1..=0xfd => {
            let v = (enc & 0x0f) - 1;
            Ok((Sds::from_slice(v.to_string().as_bytes()), 1))
        }
        _ => Err(BadData),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a ziplist from raw entries (prevlen + encoding + data).
    fn ziplist(entries: &[&[u8]], count: u16) -> Vec<u8> {
        let mut zl = vec![0; 10];
        for e in entries {
            zl.extend_from_slice(e);
        }
        zl.push(0xff);
        let total = zl.len() as u32;
        zl[..4].copy_from_slice(&total.to_le_bytes());
        zl[8..10].copy_from_slice(&count.to_le_bytes());
        zl
    }

    #[test]
    fn every_encoding() {
        let zl = ziplist(
            &[
                b"\x00\x02hi",                               // 6-bit string
                b"\x04\xf1",                                 // immediate 0
                b"\x01\xfd",                                 // immediate 12
                b"\x01\xfe\x85",                             // int8 -123
                b"\x02\xc0\x30\x75",                         // int16 30000
                b"\x03\xf0\x70\x11\x01",                     // int24 70000
                b"\x05\xd0\x00\x00\x00\x80",                 // int32 min
                b"\x05\xe0\x00\x00\x00\x00\x01\x00\x00\x00", // int64 2^32
                b"\x09\x40\x03abc",                          // 14-bit string
            ],
            9,
        );
        let got = ziplist_entries(&zl).expect("valid");
        let texts: Vec<String> = got
            .iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect();
        assert_eq!(
            texts,
            [
                "hi",
                "0",
                "12",
                "-123",
                "30000",
                "70000",
                "-2147483648",
                "4294967296",
                "abc"
            ]
        );
    }

    #[test]
    fn rejects_inconsistent_ziplists() {
        assert!(ziplist_entries(&ziplist(&[b"\x00\x02hi"], 2)).is_err());
        assert!(ziplist_entries(&ziplist(&[b"\x00\x05hi"], 1)).is_err());
        assert!(ziplist_entries(&ziplist(&[b"\x00\xff"], 1)).is_err());
        let mut zl = ziplist(&[b"\x00\x02hi"], 1);
        zl[0] += 1;
        assert!(ziplist_entries(&zl).is_err());
    }
}
