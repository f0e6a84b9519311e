//! Scalable bloom filter with RedisBloom's defaults: error rate 0.01,
//! capacity 100, expansion 2, each new layer with half the error rate.

pub const DEFAULT_ERROR_RATE: f64 = 0.01;
pub const DEFAULT_CAPACITY: u64 = 100;
pub const DEFAULT_EXPANSION: u32 = 2;
/// RedisBloom's ERROR_TIGHTENING_RATIO.
const TIGHTENING: f64 = 0.5;

#[derive(Debug, Clone)]
pub struct Layer {
    pub bits: Vec<u8>,
    pub nbits: u64,
    pub hashes: u32,
    pub capacity: u64,
    pub items: u64,
}

#[derive(Debug, Clone)]
pub struct ScalableBloom {
    pub layers: Vec<Layer>,
    pub error_rate: f64,
    /// 0 = non-scaling.
    pub expansion: u32,
    pub items: u64,
}

/// MurmurHash64A, the hash RedisBloom uses for double hashing.
fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4a7935bd1e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let chunks = key.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

impl Layer {
    fn new(capacity: u64, error: f64) -> Layer {
        let ln2 = std::f64::consts::LN_2;
        let bpe = -error.ln() / (ln2 * ln2);
        let nbits = ((capacity as f64 * bpe).ceil() as u64).max(64);
        let hashes = (ln2 * bpe).ceil().max(1.0) as u32;
        Layer {
            bits: vec![0; nbits.div_ceil(8) as usize],
            nbits,
            hashes,
            capacity,
            items: 0,
        }
    }

    fn positions(&self, item: &[u8]) -> impl Iterator<Item = u64> + '_ {
        let a = murmur64a(item, 0xc6a4a7935bd1e995);
        let b = murmur64a(item, a);
        (0..self.hashes as u64).map(move |i| a.wrapping_add(i.wrapping_mul(b)) % self.nbits)
    }

    fn contains(&self, item: &[u8]) -> bool {
        self.positions(item)
            .all(|p| self.bits[(p / 8) as usize] & (1 << (p % 8)) != 0)
    }

    fn insert(&mut self, item: &[u8]) {
        let pos: Vec<u64> = self.positions(item).collect();
        for p in pos {
            self.bits[(p / 8) as usize] |= 1 << (p % 8);
        }
        self.items += 1;
    }
}

/// Why an insert failed.
#[derive(Debug, PartialEq)]
pub enum BloomError {
    Full,
}

impl ScalableBloom {
    pub fn new(error_rate: f64, capacity: u64, expansion: u32) -> Self {
        ScalableBloom {
            layers: vec![Layer::new(capacity, error_rate)],
            error_rate,
            expansion,
            items: 0,
        }
    }

    pub fn contains(&self, item: &[u8]) -> bool {
        self.layers.iter().any(|l| l.contains(item))
    }

    /// Adds an item; Ok(false) if it was (probably) there already.
    pub fn add(&mut self, item: &[u8]) -> Result<bool, BloomError> {
        if self.contains(item) {
            return Ok(false);
        }
        let last = self.layers.last().expect("at least one layer");
        if last.items >= last.capacity {
            if self.expansion == 0 {
                return Err(BloomError::Full);
            }
            let n = self.layers.len() as i32;
            let cap = last.capacity.saturating_mul(self.expansion as u64);
            let err = self.error_rate * TIGHTENING.powi(n);
            self.layers.push(Layer::new(cap, err));
        }
        self.layers.last_mut().expect("layer").insert(item);
        self.items += 1;
        Ok(true)
    }

    pub fn capacity(&self) -> u64 {
        self.layers.iter().map(|l| l.capacity).sum()
    }

    pub fn size_bytes(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| l.bits.len() as u64 + 48)
            .sum::<u64>()
            + 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_scaling() {
        let mut b = ScalableBloom::new(0.01, 100, 2);
        for i in 0..1000 {
            b.add(format!("item{i}").as_bytes())
                .expect("scaling filter never fills");
        }
        assert_eq!(b.add(b"item7"), Ok(false));
        for i in 0..1000 {
            assert!(b.contains(format!("item{i}").as_bytes()));
        }
        assert!(b.layers.len() > 1);
        let fp = (0..10000)
            .filter(|i| b.contains(format!("other{i}").as_bytes()))
            .count();
        assert!(fp < 300, "false positives {fp}");
    }

    #[test]
    fn nonscaling_fills_up() {
        let mut b = ScalableBloom::new(0.01, 10, 0);
        let mut full = false;
        for i in 0..100 {
            if b.add(format!("{i}").as_bytes()) == Err(BloomError::Full) {
                full = true;
                break;
            }
        }
        assert!(full);
    }
}
