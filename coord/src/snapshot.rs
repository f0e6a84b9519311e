//! Snapshots: `snapshot.<zxid hex>` = magic, crc32 and length of the
//! payload, then the serialized tree. Written to a temporary name, fsynced
//! and renamed, so a crash leaves either the old or the new one.

use crate::jute::{Reader, Writer};
use crate::tree::DataTree;
use crate::txnlog::{fsync_dir, list_by_zxid};
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"COORDSN1";
/// Snapshots kept on disk; the logs they need are kept with them.
pub const KEEP: usize = 3;

pub fn serialize(tree: &DataTree) -> Vec<u8> {
    let mut w = Writer::new();
    tree.write_snapshot(&mut w);
    w.buf
}

/// Writes a serialized tree taken at `zxid`, then drops old snapshots.
/// Returns the zxid of the oldest snapshot kept.
pub fn write(dir: &Path, zxid: i64, payload: &[u8]) -> io::Result<i64> {
    let tmp = dir.join(format!("snapshot.{zxid:016x}.tmp"));
    let mut f = File::create(&tmp)?;
    f.write_all(MAGIC)?;
    f.write_all(&crc32fast::hash(payload).to_be_bytes())?;
    f.write_all(&(payload.len() as u64).to_be_bytes())?;
    f.write_all(payload)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(format!("snapshot.{zxid:016x}")))?;
    fsync_dir(dir)?;
    let snaps = list_by_zxid(dir, "snapshot")?;
    let drop_count = snaps.len().saturating_sub(KEEP);
    for (_, path) in &snaps[..drop_count] {
        std::fs::remove_file(path)?;
    }
    Ok(snaps[drop_count].0)
}

fn read_one(path: &Path) -> Option<DataTree> {
    let bytes = std::fs::read(path).ok()?;
    let header = MAGIC.len() + 12;
    if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    let crc = u32::from_be_bytes(bytes[8..12].try_into().ok()?);
    let len = u64::from_be_bytes(bytes[12..20].try_into().ok()?) as usize;
    let payload = bytes.get(header..header.checked_add(len)?)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    DataTree::read_snapshot(&mut Reader::new(payload)).ok()
}

/// The newest snapshot that reads back whole, or an empty tree.
pub fn load_latest(dir: &Path) -> io::Result<(DataTree, Option<i64>)> {
    for (zxid, path) in list_by_zxid(dir, "snapshot")?.into_iter().rev() {
        if let Some(tree) = read_one(&path) {
            return Ok((tree, Some(zxid)));
        }
        eprintln!("coord-server: skipping damaged snapshot {}", path.display());
    }
    Ok((DataTree::new(), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Acl;
    use crate::txn::{Txn, TxnHeader};

    #[test]
    fn newest_good_snapshot_wins() {
        let dir = std::env::temp_dir().join(format!("coord-snap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut tree = DataTree::new();
        let create =
            Txn::Create { path: "/a".into(), data: vec![1], acl: Acl::open_unsafe(), owner: 0, parent_cversion: 1 };
        tree.apply(&TxnHeader { session: 0, cxid: 0, zxid: 1, time: 0 }, &create, &mut Vec::new());
        write(&dir, 1, &serialize(&tree)).unwrap();
        write(&dir, 2, b"not a tree").unwrap();
        // A torn newer file is skipped.
        std::fs::write(dir.join("snapshot.0000000000000003"), b"COORDSN1\0\0").unwrap();
        let (back, zxid) = load_latest(&dir).unwrap();
        assert_eq!(zxid, Some(1));
        assert!(back.get("/a").is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
