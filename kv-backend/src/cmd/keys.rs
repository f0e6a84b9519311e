//! Which arguments of a command line are keys, as COMMAND GETKEYS and
//! GETKEYSANDFLAGS report them: Redis' key specifications when they fully
//! describe the command, else the command's own key finder (Redis'
//! "getkeys procs", which some commands have for arguments that key specs
//! cannot express).

use super::meta::{CommandMeta, Node};
use bytes::Bytes;

/// One key: its position in the command line and its access flags.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: Vec<&'static str>,
}

const RO_ACCESS: &[&str] = &["RO", "access"];
const RW_ACCESS_UPDATE: &[&str] = &["RW", "access", "update"];
const OW_UPDATE: &[&str] = &["OW", "update"];

type KeyFinder = fn(&[Bytes]) -> Vec<KeyRef>;

/// Commands with their own key finder (Redis' getkeys_proc).
fn key_finder(name: &str) -> Option<KeyFinder> {
    Some(match name {
        "set" => set_keys,
        "bitfield" => bitfield_keys,
        "sort" => sort_keys,
        "sort_ro" => |_| vec![key(1, RO_ACCESS)],
        "zunionstore" | "zinterstore" | "zdiffstore" => |argv| numkeys_keys(argv, 1, 2, 3),
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            |argv| numkeys_keys(argv, 0, 1, 2)
        }
        "blmpop" | "bzmpop" => |argv| numkeys_keys(argv, 0, 2, 3),
        _ => return None,
    })
}

fn key(pos: usize, flags: &[&'static str]) -> KeyRef {
    KeyRef {
        pos,
        flags: flags.to_vec(),
    }
}

fn spec_flags(spec: &Node) -> impl Iterator<Item = &str> {
    spec.get("flags").into_iter().flat_map(Node::texts)
}

/// True if some key spec names real keys (not `not_key` ones).
fn has_real_key_spec(m: &CommandMeta) -> bool {
    m.key_specs()
        .iter()
        .any(|s| !spec_flags(s).any(|f| f == "not_key"))
}

/// Whether GETKEYS can find keys in this command at all.
pub fn has_keys(m: &CommandMeta) -> bool {
    key_finder(m.name()).is_some() || has_real_key_spec(m)
}

/// The keys of `argv` (argv[0] = command name), empty if there are none or
/// the arguments are invalid.
pub fn keys(m: &CommandMeta<'static>, argv: &[Bytes]) -> Vec<KeyRef> {
    let variable_flags = m
        .key_specs()
        .iter()
        .any(|s| spec_flags(s).any(|f| f == "variable_flags"));
    if has_real_key_spec(m) && !variable_flags {
        if let Some(found) = keys_from_specs(m.key_specs(), argv) {
            return found;
        }
    }
    key_finder(m.name()).map_or_else(Vec::new, |find| find(argv))
}

fn int_field(node: Option<&Node>, name: &str) -> Option<i64> {
    node?.get(name)?.int()
}

/// Where a spec's keys start, or None if this spec does not apply (keyword
/// absent). Err for a spec that cannot be followed ("unknown").
fn begin_search(spec: &Node, argv: &[Bytes]) -> Result<Option<i64>, ()> {
    let begin = spec.get("begin_search");
    let kind = begin.and_then(|b| b.get("type")).and_then(Node::text);
    let params = begin.and_then(|b| b.get("spec"));
    let argc = argv.len() as i64;
    match kind {
        Some("index") => int_field(params, "index").map(Some).ok_or(()),
        Some("keyword") => {
            let word = params
                .and_then(|p| p.get("keyword"))
                .and_then(Node::text)
                .ok_or(())?;
            let from = int_field(params, "startfrom").ok_or(())?;
            let (start, end) = if from > 0 {
                (from, argc - 1)
            } else {
                (argc + from, 1)
            };
            let mut i = start;
            // Walks from `start` toward `end` (either direction), like
            // Redis: `end` itself is not examined.
            while i != end && (1..argc).contains(&i) {
                if argv[i as usize].eq_ignore_ascii_case(word.as_bytes()) {
                    return Ok(Some(i + 1));
                }
                i += if start <= end { 1 } else { -1 };
            }
            Ok(None)
        }
        _ => Err(()),
    }
}

/// Keys from the key specs; None if a spec is invalid for these arguments
/// or incomplete (then the command's own key finder decides).
fn keys_from_specs(specs: &'static [Node], argv: &[Bytes]) -> Option<Vec<KeyRef>> {
    let argc = argv.len() as i64;
    let mut out = Vec::new();
    for spec in specs {
        let flags: Vec<&'static str> = spec_flags(spec).collect();
        if flags.contains(&"not_key") {
            continue;
        }
        let Some(mut first) = begin_search(spec, argv).ok()? else {
            continue;
        };
        let find = spec.get("find_keys");
        let params = find.and_then(|f| f.get("spec"));
        let (last, step) = match find.and_then(|f| f.get("type")).and_then(Node::text) {
            Some("range") => {
                let lastkey = int_field(params, "lastkey")?;
                let limit = int_field(params, "limit")?;
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, int_field(params, "keystep")?)
            }
            Some("keynum") => {
                let numkeys_at = int_field(params, "keynumidx")?;
                if numkeys_at >= argc {
                    return None;
                }
                let numkeys_arg = argv.get(usize::try_from(first + numkeys_at).ok()?)?;
                let numkeys = crate::util::parse_i64_strict(numkeys_arg).filter(|&n| n >= 0)?;
                first += int_field(params, "firstkey")?;
                // Redis keeps the count in a C int.
                (
                    first + (numkeys as i32 as i64) - 1,
                    int_field(params, "keystep")?,
                )
            }
            _ => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            out.push(KeyRef {
                pos: i as usize,
                flags: flags.clone(),
            });
            i += step.max(1);
        }
        if flags.contains(&"incomplete") {
            return None;
        }
    }
    Some(out)
}

/// SET's key is read too when GET is given.
fn set_keys(argv: &[Bytes]) -> Vec<KeyRef> {
    let get = argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get"));
    vec![key(1, if get { RW_ACCESS_UPDATE } else { OW_UPDATE })]
}

/// BITFIELD only reads when every operation is a GET (or OVERFLOW).
fn bitfield_keys(argv: &[Bytes]) -> Vec<KeyRef> {
    let mut read_only = true;
    let mut i = 2;
    while i < argv.len() {
        let remaining = argv.len() - i - 1;
        let op = argv[i].to_ascii_lowercase();
        match op.as_slice() {
            b"get" if remaining >= 2 => i += 3,
            b"overflow" if remaining >= 1 => i += 2,
            // SET/INCRBY, or a syntax error: assume it writes.
            _ => {
                read_only = false;
                break;
            }
        }
    }
    vec![key(
        1,
        if read_only {
            RO_ACCESS
        } else {
            RW_ACCESS_UPDATE
        },
    )]
}

/// SORT: the sorted key, and the last STORE destination.
fn sort_keys(argv: &[Bytes]) -> Vec<KeyRef> {
    let mut out = vec![key(1, RO_ACCESS)];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let opt = argv[i].to_ascii_lowercase();
        match opt.as_slice() {
            b"limit" => i += 2,
            b"get" | b"by" => i += 1,
            b"store" if i + 1 < argv.len() => store = Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    out.extend(store.map(|pos| key(pos, OW_UPDATE)));
    out
}

/// C's atoi as Redis uses it: leading digits, 0 if none.
fn atoi(b: &[u8]) -> i64 {
    let s = std::str::from_utf8(b).unwrap_or("").trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add((d - b'0') as i64)
        });
    let n = if neg { -n } else { n };
    n as i32 as i64
}

/// `[store] numkeys key...` commands; the store key (if any) comes last and
/// no flags are known.
fn numkeys_keys(argv: &[Bytes], store_at: usize, numkeys_at: usize, first: usize) -> Vec<KeyRef> {
    let Some(count) = argv.get(numkeys_at).map(|a| atoi(a)) else {
        return Vec::new();
    };
    if count < 1 || count > argv.len() as i64 - first as i64 {
        return Vec::new();
    }
    let mut out: Vec<KeyRef> = (0..count as usize).map(|i| key(first + i, &[])).collect();
    if store_at > 0 {
        out.push(key(store_at, &[]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::meta;
    use super::*;

    fn argv(line: &str) -> Vec<Bytes> {
        line.split_whitespace()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    fn positions(line: &str) -> Vec<usize> {
        let a = argv(line);
        let name = String::from_utf8_lossy(&a[0]).to_ascii_lowercase();
        let m = meta::lookup(&name).expect("known command");
        keys(&m, &a).into_iter().map(|k| k.pos).collect()
    }

    #[test]
    fn follows_index_keyword_range_and_keynum_specs() {
        assert_eq!(positions("GET k"), [1]);
        assert_eq!(positions("MSET a 1 b 2"), [1, 3]);
        assert_eq!(positions("BLPOP a b c 0"), [1, 2, 3]);
        assert_eq!(positions("ZUNIONSTORE d 2 a b WEIGHTS 1 2"), [1, 3, 4]);
        assert_eq!(positions("LMPOP 2 a b LEFT"), [2, 3]);
        assert_eq!(positions("SORT s BY w STORE d"), [1, 5]);
    }

    #[test]
    fn invalid_specs_fall_back_like_redis() {
        // numkeys "2.5" is not an integer for the spec, but atoi reads 2.
        assert_eq!(positions("ZUNIONSTORE d 2.5 a b c"), [3, 4, 1]);
        assert!(positions("ZUNIONSTORE d 0 a").is_empty());
        assert!(positions("ZUNION abc a").is_empty());
        assert!(positions("LMPOP 99 a LEFT").is_empty());
    }

    #[test]
    fn key_finders_report_access_flags() {
        assert_eq!(set_keys(&argv("SET k v"))[0].flags, OW_UPDATE);
        assert_eq!(set_keys(&argv("SET k v get"))[0].flags, RW_ACCESS_UPDATE);
        assert_eq!(
            bitfield_keys(&argv("BITFIELD k GET u8 0"))[0].flags,
            RO_ACCESS
        );
        assert_eq!(
            bitfield_keys(&argv("BITFIELD k GET u8 0 SET u8 0 1"))[0].flags,
            RW_ACCESS_UPDATE
        );
        assert_eq!(atoi(b" 12abc"), 12);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(atoi(b"x"), 0);
    }
}
