//! LZF, for the compressed strings in RDB data (Redis compresses strings
//! longer than 20 bytes under `rdbcompression yes`, its default). The format is a
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
    // Reserve for a typical ratio only: the output grows with what the
    // input really produces, not with what its header claims.
    let mut out = Vec::with_capacity(expected_len.min(input.len().saturating_mul(4) + 64));
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

/// Longest back reference: 7 + 255 in the length fields, plus 2.
const MAX_MATCH: usize = 264;
/// Farthest back reference: 13 bits of offset, plus 1.
const MAX_DISTANCE: usize = 1 << 13;
/// Longest literal run one control byte announces.
const MAX_LITERAL: usize = 32;
const MAX_HASH_BITS: u32 = 14;

fn push_literals(out: &mut Vec<u8>, bytes: &[u8]) {
    for run in bytes.chunks(MAX_LITERAL) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

/// Compresses `input` greedily (3-byte hash, one candidate per hash).
/// None when the result would not be shorter than `max_len`, which is how
/// Redis decides to store a string plainly instead.
pub fn compress(input: &[u8], max_len: usize) -> Option<Vec<u8>> {
    // A table sized to the input keeps short strings (most list, hash and
    // set elements) cheap to try.
    let bits = (usize::BITS - input.len().leading_zeros()).clamp(6, MAX_HASH_BITS);
    let mut table = vec![usize::MAX; 1 << bits];
    let mut out = Vec::with_capacity(max_len.min(input.len()));
    let mut literal_start = 0;
    let mut pos = 0;
    while pos + 2 < input.len() {
        let triple = &input[pos..pos + 3];
        let key = u32::from_le_bytes([triple[0], triple[1], triple[2], 0]);
        let slot = (key.wrapping_mul(2_654_435_761) >> (32 - bits)) as usize;
        let candidate = std::mem::replace(&mut table[slot], pos);
        let usable = candidate < pos
            && pos - candidate <= MAX_DISTANCE
            && input[candidate..candidate + 3] == *triple;
        if !usable {
            pos += 1;
            continue;
        }
        let limit = MAX_MATCH.min(input.len() - pos);
        let mut len = 3;
        while len < limit && input[candidate + len] == input[pos + len] {
            len += 1;
        }
        push_literals(&mut out, &input[literal_start..pos]);
        let offset = pos - candidate - 1;
        let encoded_len = len - 2;
        if encoded_len < 7 {
            out.push(((encoded_len << 5) | (offset >> 8)) as u8);
        } else {
            out.push(((7 << 5) | (offset >> 8)) as u8);
            out.push((encoded_len - 7) as u8);
        }
        out.push(offset as u8);
        pos += len;
        literal_start = pos;
        if out.len() >= max_len {
            return None;
        }
    }
    push_literals(&mut out, &input[literal_start..]);
    (out.len() < max_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_round_trips() {
        let mut seed = 12345u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..300 {
            let len = (rand() % 20_000) as usize;
            let alphabet = 1 + (round % 40) as u64;
            let input: Vec<u8> = (0..len).map(|_| (rand() % alphabet) as u8).collect();
            if let Some(packed) = compress(&input, input.len() + 64) {
                assert_eq!(decompress(&packed, input.len()), Ok(input));
            }
        }
        let text = b"abcd".repeat(5000);
        let packed = compress(&text, text.len() - 4).expect("repetitive text compresses");
        assert!(packed.len() < 400);
        assert_eq!(decompress(&packed, text.len()), Ok(text));
        assert_eq!(compress(b"abcdefghijklmnopqrstuvwxyz", 22), None);
    }

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
