//! LZF decompression, for the compressed strings Redis writes in RDB data
//! (`rdbcompression yes`, strings longer than 20 bytes). The format is a
//! sequence of literal runs (control byte < 32: that many bytes + 1 follow)
//! and back references (3-bit length, 13-bit offset, optional length byte).

/// Why a compressed block was rejected.
#[derive(Debug, PartialEq, Eq)]
pub struct LzfError;

/// Decompresses `input`, which must produce exactly `expected_len` bytes.
/// Output never grows past `expected_len`, so a lying header cannot make
/// it allocate more than the data really expands to.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, LzfError> {
    // Every 2 input bytes expand to at most 264 output bytes; a claim
    // beyond that is a lie, and no allocation is made for it.
    if expected_len > input.len().saturating_mul(132).saturating_add(32) {
        return Err(LzfError);
    }
    let mut out = Vec::with_capacity(expected_len);
    let mut pos = 0;
    while pos < input.len() {
        let ctrl = input[pos] as usize;
        pos += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let literal = input.get(pos..pos + run).ok_or(LzfError)?;
            if out.len() + run > expected_len {
                return Err(LzfError);
            }
            out.extend_from_slice(literal);
            pos += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(pos).ok_or(LzfError)? as usize;
                pos += 1;
            }
            len += 2;
            let low = *input.get(pos).ok_or(LzfError)? as usize;
            pos += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            if back > out.len() || out.len() + len > expected_len {
                return Err(LzfError);
            }
            // Byte by byte: the reference may overlap the bytes it produces.
            let start = out.len() - back;
            for i in 0..len {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    if out.len() == expected_len {
        Ok(out)
    } else {
        Err(LzfError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_overlapping_reference() {
        // "abc" literal, then a reference of length 9 one back... "abcccccccccc"
        let block = [2, b'a', b'b', b'c', (7 << 5), 0, 0];
        // len = 7 + 0 + 2 = 9, offset 1: repeats 'c'.
        assert_eq!(decompress(&block, 12), Ok(b"abcccccccccc".to_vec()));
    }

    #[test]
    fn rejects_lies() {
        assert_eq!(decompress(&[2, b'a', b'b'], 3), Err(LzfError));
        assert_eq!(decompress(&[0, b'a', (1 << 5), 5], 4), Err(LzfError));
        assert_eq!(decompress(&[0, b'a'], 2), Err(LzfError));
        assert_eq!(decompress(&[0, b'a'], usize::MAX), Err(LzfError));
    }
}
