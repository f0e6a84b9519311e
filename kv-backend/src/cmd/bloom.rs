//! BF.* commands: a scalable bloom filter with RedisBloom's defaults.

use super::{eq_ic, err, CmdError, CmdResult, Ctx, SYNTAX};
use crate::db::Access;
use crate::types::bloom::{
    BloomError, ScalableBloom, DEFAULT_CAPACITY, DEFAULT_ERROR_RATE, DEFAULT_EXPANSION,
};
use crate::types::Value;
use crate::util::parse_f64;
use bytes::Bytes;

fn is_bloom(v: &Value) -> bool {
    matches!(v, Value::Bloom(_))
}

fn error_rate(arg: &[u8]) -> Result<f64, CmdError> {
    match parse_f64(arg) {
        Some(e) if e > 0.0 && e < 1.0 => Ok(e),
        _ => Err(err("ERR (0 < error rate range < 1)")),
    }
}

fn capacity(arg: &[u8]) -> Result<u64, CmdError> {
    match crate::util::parse_i64_strict(arg) {
        Some(c) if c > 0 => Ok(c as u64),
        _ => Err(err("ERR (capacity should be larger than 0)")),
    }
}

fn expansion(arg: &[u8]) -> Result<u32, CmdError> {
    match crate::util::parse_i64_strict(arg) {
        Some(e) if e >= 1 && e <= u32::MAX as i64 => Ok(e as u32),
        _ => Err(err("ERR expansion should be greater or equal to 1")),
    }
}

pub fn reserve(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let rate = error_rate(&argv[2])?;
    let cap = capacity(&argv[3])?;
    let mut exp = DEFAULT_EXPANSION;
    let mut nonscaling = false;
    let mut i = 4;
    while i < argv.len() {
        if eq_ic(&argv[i], "NONSCALING") {
            nonscaling = true;
            i += 1;
        } else if eq_ic(&argv[i], "EXPANSION") && i + 1 < argv.len() {
            exp = expansion(&argv[i + 1])?;
            i += 2;
        } else {
            return Err(err(SYNTAX));
        }
    }
    if ctx.lookup(&argv[1], Access::Write).is_some() {
        return Err(err("ERR item exists"));
    }
    let f = ScalableBloom::new(rate, cap, if nonscaling { 0 } else { exp });
    let db = ctx.client.db;
    ctx.store
        .set(db, &argv[1], Value::Bloom(Box::new(f)), false, ctx.now);
    ctx.out.ok();
    Ok(())
}

fn filter_for_write<'a>(
    ctx: &'a mut Ctx,
    key: &[u8],
    make: Option<ScalableBloom>,
) -> Result<Option<&'a mut ScalableBloom>, CmdError> {
    if make.is_none() && !ctx.check_type(key, is_bloom)? {
        return Ok(None);
    }
    let v = ctx.ensure(key, is_bloom, || {
        Value::Bloom(Box::new(make.unwrap_or_else(|| {
            ScalableBloom::new(DEFAULT_ERROR_RATE, DEFAULT_CAPACITY, DEFAULT_EXPANSION)
        })))
    })?;
    match v {
        Value::Bloom(b) => Ok(Some(b)),
        _ => unreachable!("type checked"),
    }
}

fn add_items(
    ctx: &mut Ctx,
    key: &[u8],
    items: &[Bytes],
    make: Option<ScalableBloom>,
    single: bool,
) -> CmdResult {
    let Some(f) = filter_for_write(ctx, key, make)? else {
        return Err(err("ERR not found"));
    };
    let results: Vec<Result<bool, BloomError>> = items.iter().map(|it| f.add(it)).collect();
    ctx.modified(key);
    if single {
        match &results[0] {
            Ok(added) => ctx.out.int(*added as i64),
            Err(_) => return Err(err("ERR non scaling filter is full")),
        }
        return Ok(());
    }
    ctx.out.array(results.len());
    for r in results {
        match r {
            Ok(added) => ctx.out.int(added as i64),
            Err(_) => ctx.out.error("ERR non scaling filter is full"),
        }
    }
    Ok(())
}

fn default_filter() -> Option<ScalableBloom> {
    Some(ScalableBloom::new(
        DEFAULT_ERROR_RATE,
        DEFAULT_CAPACITY,
        DEFAULT_EXPANSION,
    ))
}

pub fn add(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    add_items(ctx, &argv[1], &argv[2..3], default_filter(), true)
}

pub fn madd(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    add_items(ctx, &argv[1], &argv[2..], default_filter(), false)
}

pub fn insert(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (mut rate, mut cap, mut exp) = (DEFAULT_ERROR_RATE, DEFAULT_CAPACITY, DEFAULT_EXPANSION);
    let (mut nocreate, mut nonscaling) = (false, false);
    let mut i = 2;
    let mut items_at = None;
    while i < argv.len() {
        let a = &argv[i];
        if eq_ic(a, "ITEMS") {
            items_at = Some(i + 1);
            break;
        } else if eq_ic(a, "NOCREATE") {
            nocreate = true;
            i += 1;
        } else if eq_ic(a, "NONSCALING") {
            nonscaling = true;
            i += 1;
        } else if i + 1 < argv.len() && eq_ic(a, "CAPACITY") {
            cap = capacity(&argv[i + 1])?;
            i += 2;
        } else if i + 1 < argv.len() && eq_ic(a, "ERROR") {
            rate = error_rate(&argv[i + 1])?;
            i += 2;
        } else if i + 1 < argv.len() && eq_ic(a, "EXPANSION") {
            exp = expansion(&argv[i + 1])?;
            i += 2;
        } else {
            return Err(err(SYNTAX));
        }
    }
    let Some(at) = items_at.filter(|&a| a < argv.len()) else {
        return Err(err("ERR wrong number of arguments for 'bf.insert' command"));
    };
    let make = if nocreate {
        None
    } else {
        Some(ScalableBloom::new(
            rate,
            cap,
            if nonscaling { 0 } else { exp },
        ))
    };
    add_items(ctx, &argv[1], &argv[at..], make, false)
}

fn exists_many(ctx: &mut Ctx, key: &[u8], items: &[Bytes]) -> Result<Vec<bool>, CmdError> {
    Ok(match ctx.get_bloom(key, Access::Read)? {
        None => vec![false; items.len()],
        Some(f) => items.iter().map(|i| f.contains(i)).collect(),
    })
}

pub fn exists(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let r = exists_many(ctx, &argv[1], &argv[2..3])?;
    ctx.out.int(r[0] as i64);
    Ok(())
}

pub fn mexists(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let r = exists_many(ctx, &argv[1], &argv[2..])?;
    ctx.out.array(r.len());
    for b in r {
        ctx.out.int(b as i64);
    }
    Ok(())
}

pub fn card(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let n = ctx
        .get_bloom(&argv[1], Access::Read)?
        .map_or(0, |f| f.items);
    ctx.out.int(n as i64);
    Ok(())
}

pub fn info(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 3 {
        return Err(err(SYNTAX));
    }
    let Some(f) = ctx.get_bloom(&argv[1], Access::Read)? else {
        return Err(err("ERR not found"));
    };
    let fields: [(&str, Option<i64>); 5] = [
        ("Capacity", Some(f.capacity() as i64)),
        ("Size", Some(f.size_bytes() as i64)),
        ("Number of filters", Some(f.layers.len() as i64)),
        ("Number of items inserted", Some(f.items as i64)),
        (
            "Expansion rate",
            (f.expansion > 0).then_some(f.expansion as i64),
        ),
    ];
    if let Some(which) = argv.get(2) {
        let idx = ["CAPACITY", "SIZE", "FILTERS", "ITEMS", "EXPANSION"]
            .iter()
            .position(|n| eq_ic(which, n))
            .ok_or_else(|| err("ERR Invalid information value"))?;
        ctx.out.array(1);
        match fields[idx].1 {
            Some(v) => ctx.out.int(v),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    ctx.out.map(fields.len());
    for (name, v) in fields {
        ctx.out.simple(name);
        match v {
            Some(v) => ctx.out.int(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;

    #[test]
    fn add_exists_and_info() {
        let mut h = Harness::new();
        assert_eq!(h.run("BF.ADD f a"), ":1\r\n");
        assert_eq!(h.run("BF.ADD f a"), ":0\r\n");
        assert_eq!(h.run("BF.MEXISTS f a b"), "*2\r\n:1\r\n:0\r\n");
        assert!(h.run("BF.INFO f").contains("Capacity\r\n:100\r\n"));
        assert_eq!(h.run("BF.RESERVE f 0.01 10"), "-ERR item exists\r\n");
    }
}
