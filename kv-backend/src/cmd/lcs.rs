//! LCS: the longest common subsequence of two strings, its length, or the
//! matching ranges (IDX), computed with the classic dynamic-programming
//! table and walked back from the ends of both strings, as Redis does.

use super::{eq_ic, err, int_arg, CmdError, CmdResult, Ctx, SYNTAX};
use crate::db::Access;
use bytes::Bytes;

#[derive(Default, Debug, PartialEq)]
struct LcsOptions {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: u64,
}

fn parse_options(args: &[Bytes]) -> Result<LcsOptions, CmdError> {
    let mut o = LcsOptions::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if eq_ic(a, "IDX") {
            o.idx = true;
        } else if eq_ic(a, "LEN") {
            o.len = true;
        } else if eq_ic(a, "WITHMATCHLEN") {
            o.with_match_len = true;
        } else if eq_ic(a, "MINMATCHLEN") && i + 1 < args.len() {
            i += 1;
            // Negative lengths mean "no minimum".
            o.min_match_len = int_arg(&args[i])?.max(0) as u64;
        } else {
            return Err(err(SYNTAX));
        }
        i += 1;
    }
    if o.len && o.idx {
        return Err(err(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    Ok(o)
}

/// One matching run, as inclusive ranges in each string.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Match {
    a: (usize, usize),
    b: (usize, usize),
}

impl Match {
    fn len(&self) -> usize {
        self.a.1 - self.a.0 + 1
    }
}

/// table[i * (b.len() + 1) + j] = LCS length of a[..i] and b[..j].
struct Table {
    cells: Vec<u32>,
    width: usize,
}

impl Table {
    fn build(a: &[u8], b: &[u8], cells: Vec<u32>) -> Table {
        let width = b.len() + 1;
        let mut t = Table { cells, width };
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let v = if a[i - 1] == b[j - 1] {
                    t.at(i - 1, j - 1) + 1
                } else {
                    t.at(i - 1, j).max(t.at(i, j - 1))
                };
                t.cells[i * width + j] = v;
            }
        }
        t
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }
}

/// Walks the table back from (a.len(), b.len()): the subsequence, and the
/// runs of consecutive matches in the order they are found (last first).
fn walk_back(a: &[u8], b: &[u8], t: &Table) -> (Vec<u8>, Vec<Match>) {
    let total = t.at(a.len(), b.len()) as usize;
    let mut seq = vec![0u8; total];
    let mut filled = total;
    let mut runs = Vec::new();
    let mut run: Option<Match> = None;
    let (mut i, mut j) = (a.len(), b.len());
    // Each step moves i or j (or both) down by one.
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            filled -= 1;
            seq[filled] = a[i - 1];
            let m = match run {
                // The previous step was a match on the diagonal just after
                // this one (a mismatch step closes the run), so the run
                // extends backwards.
                Some(mut m) => {
                    m.a.0 -= 1;
                    m.b.0 -= 1;
                    m
                }
                None => Match {
                    a: (i - 1, i - 1),
                    b: (j - 1, j - 1),
                },
            };
            i -= 1;
            j -= 1;
            if m.a.0 == 0 || m.b.0 == 0 {
                runs.push(m);
                run = None;
            } else {
                run = Some(m);
            }
        } else {
            if t.at(i - 1, j) > t.at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            if let Some(m) = run.take() {
                runs.push(m);
            }
        }
    }
    (seq, runs)
}

/// The value of a key for LCS: a missing key is an empty string.
fn lcs_operand(ctx: &mut Ctx, key: &[u8]) -> Result<Vec<u8>, ()> {
    match ctx.lookup(key, Access::Read) {
        None => Ok(Vec::new()),
        Some(e) => e.val.string_bytes().map(|b| b.into_owned()).ok_or(()),
    }
}

pub fn lcs(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    // Both keys are looked up before the options are checked, as in Redis.
    let a = lcs_operand(ctx, &argv[1]);
    let b = lcs_operand(ctx, &argv[2]);
    let (Ok(a), Ok(b)) = (a, b) else {
        return Err(err("ERR The specified keys must contain string values"));
    };
    let o = parse_options(&argv[3..])?;
    let too_long = u32::MAX as usize - 1;
    if a.len() >= too_long || b.len() >= too_long {
        return Err(err("ERR String too long for LCS"));
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    let alloc_failed =
        || err("ERR Insufficient memory, failed allocating transient memory for LCS");
    let bytes = cells.checked_mul(4).ok_or_else(alloc_failed)?;
    if bytes > ctx.store.config.proto_max_bulk_len as u64 {
        return Err(err(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let cells = usize::try_from(cells).map_err(|_| alloc_failed())?;
    let mut storage = Vec::new();
    storage
        .try_reserve_exact(cells)
        .map_err(|_| alloc_failed())?;
    storage.resize(cells, 0u32);
    let table = Table::build(&a, &b, storage);
    let total = table.at(a.len(), b.len()) as i64;
    if o.len {
        ctx.out.int(total);
        return Ok(());
    }
    let (seq, runs) = walk_back(&a, &b, &table);
    if !o.idx {
        ctx.out.bulk(&seq);
        return Ok(());
    }
    let shown: Vec<&Match> = runs
        .iter()
        .filter(|m| m.len() as u64 >= o.min_match_len)
        .collect();
    ctx.out.map(2);
    ctx.out.bulk(b"matches");
    ctx.out.array(shown.len());
    for m in shown {
        ctx.out.array(if o.with_match_len { 3 } else { 2 });
        for (start, end) in [m.a, m.b] {
            ctx.out.array(2);
            ctx.out.int(start as i64);
            ctx.out.int(end as i64);
        }
        if o.with_match_len {
            ctx.out.int(m.len() as i64);
        }
    }
    ctx.out.bulk(b"len");
    ctx.out.int(total);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;
    use super::*;

    fn lcs_of(a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<Match>) {
        let cells = vec![0u32; (a.len() + 1) * (b.len() + 1)];
        let t = Table::build(a, b, cells);
        walk_back(a, b, &t)
    }

    #[test]
    fn runs_come_from_the_end() {
        let (seq, runs) = lcs_of(b"ohmytext", b"mynewtext");
        assert_eq!(seq, b"mytext");
        assert_eq!(
            runs,
            vec![
                Match {
                    a: (4, 7),
                    b: (5, 8)
                },
                Match {
                    a: (2, 3),
                    b: (0, 1)
                }
            ]
        );
    }

    #[test]
    fn empty_and_disjoint_strings() {
        assert_eq!(lcs_of(b"", b"abc"), (vec![], vec![]));
        assert_eq!(lcs_of(b"abc", b"xyz"), (vec![], vec![]));
        let (seq, runs) = lcs_of(b"aaa", b"aaa");
        assert_eq!(seq, b"aaa");
        assert_eq!(runs.len(), 1);
    }

    #[test]
    fn options_and_errors() {
        let mut h = Harness::new();
        h.run("SET a ohmytext");
        h.run("SET b mynewtext");
        assert_eq!(h.run("LCS a b LEN"), ":6\r\n");
        assert_eq!(h.run("LCS a nokey"), "$0\r\n\r\n");
        assert_eq!(
            h.run("LCS a b LEN IDX"),
            "-ERR If you want both the length and indexes, please just use IDX.\r\n"
        );
        h.run("LPUSH l x");
        assert_eq!(
            h.run("LCS a l"),
            "-ERR The specified keys must contain string values\r\n"
        );
        assert_eq!(
            h.run("LCS a b IDX MINMATCHLEN 3"),
            "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n"
        );
    }
}
