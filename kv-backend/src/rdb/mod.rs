//! Redis' RDB value serialization, as used by DUMP/RESTORE (and later by
//! persistence): the object type byte, the value in RDB encoding, and for
//! DUMP payloads a footer of the 2-byte little-endian RDB version plus a
//! CRC-64/Jones of everything before it.
//!
//! What kv-server writes is what Redis 7.0 writes for the same encoding:
//! strings as type 0 (small integers int-encoded, long strings LZF-
//! compressed when that pays), lists as a quicklist of listpacks of at most
//! 8 KB (type 18), listpack hashes and sorted sets as listpacks (types 16,
//! 17), intsets as intsets (11), and the big encodings as types 2, 4 and 5
//! (sorted sets with binary double scores). Our scalable bloom filters use
//! the private type [`TYPE_KV_BLOOM`] (200), which redis-server rejects
//! with "Bad data format". Payloads are not byte-identical to Redis' (its
//! hash tables iterate in another order) but redis-server 7.0.15 loads them
//! into the same values and encodings.
//!
//! What it reads: all of the above, the plain types 1 (list) and 3 (sorted
//! set with text scores), and the ziplist-based types of RDB versions
//! before 10 (Redis 6.2 and older). Not read: zipmaps (type 9, Redis 2.x),
//! streams and module values.

pub mod crc64;
pub mod decode;
pub mod encode;
pub mod listpack;
pub mod lzf;
pub mod ziplist;

/// The RDB format version Redis 7.0 writes and the newest it reads.
pub const RDB_VERSION: u16 = 10;

pub const TYPE_STRING: u8 = 0;
pub const TYPE_LIST: u8 = 1;
pub const TYPE_SET: u8 = 2;
pub const TYPE_ZSET: u8 = 3;
pub const TYPE_HASH: u8 = 4;
pub const TYPE_ZSET_2: u8 = 5;
pub const TYPE_LIST_ZIPLIST: u8 = 10;
pub const TYPE_SET_INTSET: u8 = 11;
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
pub const TYPE_HASH_ZIPLIST: u8 = 13;
pub const TYPE_LIST_QUICKLIST: u8 = 14;
pub const TYPE_HASH_LISTPACK: u8 = 16;
pub const TYPE_ZSET_LISTPACK: u8 = 17;
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
/// kv-server's own type id for scalable bloom filters. Redis' object types
/// stop at 21 and its opcodes start at 245, so 200 collides with neither.
pub const TYPE_KV_BLOOM: u8 = 200;

/// Length prefixes: 6-bit, 14-bit, 32-bit and 64-bit lengths, or a
/// special string encoding (top two bits set).
const LEN_6BIT: u8 = 0;
const LEN_14BIT: u8 = 1;
const LEN_32BIT: u8 = 0x80;
const LEN_64BIT: u8 = 0x81;
const LEN_ENCVAL: u8 = 3;

/// Special string encodings, after a length byte of 0b11xxxxxx.
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;
