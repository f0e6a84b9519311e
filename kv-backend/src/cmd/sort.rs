//! SORT and SORT_RO, with Redis' exact rules: BY patterns (a pattern
//! without `*` means "don't sort"), `->field` hash lookups, GET `#`, LIMIT
//! clamping, numeric sorting with the element text as tie-breaker, ALPHA in
//! byte order, and STORE into a list.

use super::{eq_ic, err, int_arg, wrongtype, CmdResult, Ctx, SYNTAX};
use crate::db::Access;
use crate::types::{Sds, Value};
use bytes::Bytes;
use std::cmp::Ordering;
use std::collections::VecDeque;

#[derive(Default)]
struct SortOptions {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<Bytes>,
    by: Option<Bytes>,
    /// A BY pattern without `*` was given (even if a later BY had one).
    dont_sort: bool,
    gets: Vec<Bytes>,
}

fn parse_options(argv: &[Bytes], readonly: bool) -> Result<SortOptions, super::CmdError> {
    let mut o = SortOptions {
        limit_count: -1,
        ..Default::default()
    };
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = &argv[j];
        if eq_ic(a, "ASC") {
            o.desc = false;
        } else if eq_ic(a, "DESC") {
            o.desc = true;
        } else if eq_ic(a, "ALPHA") {
            o.alpha = true;
        } else if eq_ic(a, "LIMIT") && left >= 2 {
            o.limit_start = int_arg(&argv[j + 1])?;
            o.limit_count = int_arg(&argv[j + 2])?;
            j += 2;
        } else if !readonly && eq_ic(a, "STORE") && left >= 1 {
            o.store = Some(argv[j + 1].clone());
            j += 1;
        } else if eq_ic(a, "BY") && left >= 1 {
            let pattern = argv[j + 1].clone();
            if !pattern.contains(&b'*') {
                o.dont_sort = true;
            }
            o.by = Some(pattern);
            j += 1;
        } else if eq_ic(a, "GET") && left >= 1 {
            o.gets.push(argv[j + 1].clone());
            j += 1;
        } else {
            return Err(err(SYNTAX));
        }
        j += 1;
    }
    Ok(o)
}

#[derive(Clone, Copy, PartialEq)]
enum SourceKind {
    List,
    Set,
    ZSet,
}

/// Substitutes `subst` for the first `*` of `pattern` and reads that key
/// (or, with `->field`, that hash field). `#` is the element itself.
fn lookup_by_pattern(ctx: &mut Ctx, pattern: &[u8], subst: &[u8]) -> Option<Sds> {
    if pattern == b"#" {
        return Some(Sds::from_slice(subst));
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let after_star = &pattern[star + 1..];
    let arrow = after_star.windows(2).position(|w| w == b"->");
    let (postfix, field) = match arrow {
        Some(f) if f + 2 < after_star.len() => (&after_star[..f], Some(&after_star[f + 2..])),
        _ => (after_star, None),
    };
    let mut key = Vec::with_capacity(star + subst.len() + postfix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(postfix);
    let entry = ctx.lookup(&key, Access::Read)?;
    match (field, &entry.val) {
        (Some(f), Value::Hash(h)) => h.map.get(f).cloned(),
        (None, v) => v.string_bytes().map(|b| Sds::from_slice(&b)),
        _ => None,
    }
}

/// Parses a sort weight as Redis does with strtod: leading spaces allowed,
/// nothing after the number, no NaN, no overflow or underflow. An empty
/// string is 0 (strtod converts nothing and stops at the end).
fn parse_weight(s: &[u8]) -> Option<f64> {
    let s = match s.iter().position(|&c| c == 0) {
        Some(nul) => &s[..nul],
        None => s,
    };
    if s.is_empty() {
        return Some(0.0);
    }
    let is_c_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let text = &s[s.iter().take_while(|c| is_c_space(c)).count()..];
    if text.is_empty() {
        return None;
    }
    let v = crate::util::parse_f64(text)?;
    let names_infinity = text.iter().any(|c| c.eq_ignore_ascii_case(&b'i'));
    let overflow = v.is_infinite() && !names_infinity;
    let underflow = if v == 0.0 {
        mantissa_nonzero(text)
    } else {
        v.abs() < f64::MIN_POSITIVE
    };
    if overflow || underflow {
        return None;
    }
    Some(v)
}

/// True if the digits before any exponent include a non-zero one.
fn mantissa_nonzero(text: &[u8]) -> bool {
    text.iter()
        .take_while(|c| !matches!(c, b'e' | b'E'))
        .any(|c| (b'1'..=b'9').contains(c))
}

/// One element and what it sorts by.
struct SortItem {
    elem: Sds,
    score: f64,
    /// ALPHA with BY: the looked-up value (None when the key is missing).
    by_value: Option<Sds>,
}

/// How ALPHA compares strings. Without STORE Redis uses strcoll(), which
/// in the C locale is strcmp(): byte order up to the first NUL. With STORE
/// it compares the whole binary strings (so replicas agree).
fn alpha_cmp(a: &[u8], b: &[u8], binary: bool) -> Ordering {
    if binary {
        return a.cmp(b);
    }
    let c_string = |s: &[u8]| -> usize { s.iter().position(|&c| c == 0).unwrap_or(s.len()) };
    a[..c_string(a)].cmp(&b[..c_string(b)])
}

fn compare(a: &SortItem, b: &SortItem, alpha: bool, by_pattern: bool, store: bool) -> Ordering {
    if !alpha {
        return a
            .score
            .partial_cmp(&b.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.elem.cmp(&b.elem));
    }
    if by_pattern {
        // A missing weight sorts first; two missing ones are equal.
        return match (&a.by_value, &b.by_value) {
            (Some(x), Some(y)) => alpha_cmp(x, y, store),
            (x, y) => x.is_some().cmp(&y.is_some()),
        };
    }
    alpha_cmp(&a.elem, &b.elem, store)
}

pub fn sort(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    sort_generic(ctx, argv, false)
}

pub fn sort_ro(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    sort_generic(ctx, argv, true)
}

fn sort_generic(ctx: &mut Ctx, argv: &[Bytes], readonly: bool) -> CmdResult {
    let mut o = parse_options(argv, readonly)?;
    let (kind, mut elems) = match ctx.lookup(&argv[1], Access::Read).map(|e| &mut e.val) {
        None => (SourceKind::List, Vec::new()),
        Some(Value::List(l)) => (SourceKind::List, l.iter().cloned().collect()),
        Some(Value::Set(s)) => (SourceKind::Set, s.members()),
        Some(Value::ZSet(z)) => {
            // Redis 7.0 converts a listpack sorted set to a skiplist for
            // SORT, for good: OBJECT ENCODING shows it afterwards.
            z.listpack = false;
            let ordered = if z.is_empty() {
                Vec::new()
            } else {
                z.range_by_rank(0, z.len() - 1, false)
            };
            (
                SourceKind::ZSet,
                ordered.into_iter().map(|(m, _)| m).collect(),
            )
        }
        Some(_) => return Err(wrongtype()),
    };
    // A set has no order of its own: when its result is stored, Redis
    // sorts it (ALPHA) so that replicas get the same list.
    if o.dont_sort && kind == SourceKind::Set && o.store.is_some() {
        o.dont_sort = false;
        o.alpha = true;
        o.by = None;
    }

    let len = elems.len() as i64;
    let mut start = o.limit_start.max(0);
    let mut end = if o.limit_count < 0 {
        len - 1
    } else {
        start.saturating_add(o.limit_count).saturating_sub(1)
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);

    if o.dont_sort {
        // Lists and sorted sets keep their own order, reversed by DESC.
        if o.desc && kind != SourceKind::Set {
            elems.reverse();
        }
    } else {
        let mut items = Vec::with_capacity(elems.len());
        let mut conversion_error = false;
        for elem in elems {
            let weight = match &o.by {
                Some(pattern) => lookup_by_pattern(ctx, pattern, &elem),
                None => None,
            };
            let mut item = SortItem {
                elem,
                score: 0.0,
                by_value: None,
            };
            if o.alpha {
                item.by_value = weight;
            } else {
                let text = if o.by.is_some() {
                    weight
                } else {
                    Some(item.elem.clone())
                };
                if let Some(t) = text {
                    match parse_weight(&t) {
                        Some(v) => item.score = v,
                        None => conversion_error = true,
                    }
                }
            }
            items.push(item);
        }
        if conversion_error {
            return Err(err("ERR One or more scores can't be converted into double"));
        }
        let (alpha, by_pattern, desc) = (o.alpha, o.by.is_some(), o.desc);
        let store = o.store.is_some();
        // Stable, like glibc's qsort (a merge sort): equal items keep
        // their order.
        items.sort_by(|a, b| {
            let c = compare(a, b, alpha, by_pattern, store);
            if desc {
                c.reverse()
            } else {
                c
            }
        });
        elems = items.into_iter().map(|i| i.elem).collect();
    }

    let selected: &[Sds] = if end >= start {
        &elems[start as usize..=end as usize]
    } else {
        &[]
    };
    let per_elem = o.gets.len().max(1);
    let output_len = selected.len() * per_elem;
    match o.store.take() {
        None => {
            ctx.out.array(output_len);
            for elem in selected {
                if o.gets.is_empty() {
                    ctx.out.bulk(elem);
                }
                for pattern in &o.gets {
                    match lookup_by_pattern(ctx, pattern, elem) {
                        Some(v) => ctx.out.bulk(&v),
                        None => ctx.out.null(),
                    }
                }
            }
        }
        Some(dest) => {
            let mut list = VecDeque::with_capacity(output_len);
            for elem in selected {
                if o.gets.is_empty() {
                    list.push_back(elem.clone());
                }
                for pattern in &o.gets {
                    list.push_back(lookup_by_pattern(ctx, pattern, elem).unwrap_or_default());
                }
            }
            let db = ctx.client.db;
            if list.is_empty() {
                ctx.store.delete(db, &dest, ctx.now);
            } else {
                ctx.store
                    .set(db, &dest, Value::List(Box::new(list)), false, ctx.now);
            }
            ctx.out.int(output_len as i64);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;
    use super::parse_weight;

    #[test]
    fn weights_parse_like_strtod() {
        assert_eq!(parse_weight(b""), Some(0.0));
        assert_eq!(parse_weight(b"  2.5"), Some(2.5));
        assert_eq!(parse_weight(b"2.5 "), None);
        assert_eq!(parse_weight(b"   "), None);
        assert_eq!(parse_weight(b"nan"), None);
        assert_eq!(parse_weight(b"1e400"), None);
        assert_eq!(parse_weight(b"1e-400"), None);
        assert_eq!(parse_weight(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_weight(b"0e5"), Some(0.0));
    }

    #[test]
    fn numeric_ties_fall_back_to_the_element() {
        let mut h = Harness::new();
        h.run("RPUSH l b a c");
        h.run("MSET w_a 1 w_b 1 w_c 0");
        assert_eq!(
            h.run("SORT l BY w_*"),
            "*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(
            h.run("SORT l BY w_* DESC LIMIT 0 2"),
            "*2\r\n$1\r\nb\r\n$1\r\na\r\n"
        );
    }
}
