//! MULTI / EXEC / DISCARD / WATCH / UNWATCH, with Redis 7.0 semantics:
//! queue-time errors abort EXEC, runtime errors don't roll back, and any
//! change to a WATCHed key (including expiry and FLUSH) aborts.

use super::{err, CmdResult, Ctx};
use bytes::Bytes;

pub fn multi(ctx: &mut Ctx, _argv: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(err("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_error = false;
    ctx.out.ok();
    Ok(())
}

/// Forgets the transaction and every WATCH of this client.
pub fn discard_state(ctx: &mut Ctx) {
    ctx.client.multi = None;
    ctx.client.multi_error = false;
    unwatch_all(ctx);
}

pub fn discard(ctx: &mut Ctx, _argv: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(err("ERR DISCARD without MULTI"));
    }
    discard_state(ctx);
    ctx.out.ok();
    Ok(())
}

pub fn unwatch_all(ctx: &mut Ctx) {
    let id = ctx.client.id;
    for (db, key) in ctx.client.watched.drain(..) {
        let d = &mut ctx.store.dbs[db];
        if let Some(ws) = d.watched.get_mut(&key) {
            ws.retain(|(c, _)| *c != id);
            if ws.is_empty() {
                d.watched.remove(&key);
            }
        }
    }
    ctx.store.dirty_cas.remove(&id);
}

pub fn watch(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(err("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    for key in &argv[1..] {
        if ctx
            .client
            .watched
            .iter()
            .any(|(d, k)| *d == db && k.as_slice() == key.as_ref())
        {
            continue;
        }
        let expired = ctx.store.dbs[db]
            .expire_at(key)
            .is_some_and(|w| w <= ctx.now);
        let k = crate::types::sds(key);
        ctx.store.dbs[db]
            .watched
            .entry(k.clone())
            .or_default()
            .push((ctx.client.id, expired));
        ctx.client.watched.push((db, k));
    }
    ctx.out.ok();
    Ok(())
}

pub fn unwatch(ctx: &mut Ctx, _argv: &[Bytes]) -> CmdResult {
    unwatch_all(ctx);
    ctx.out.ok();
    Ok(())
}

/// True if a WATCHed key that was alive at WATCH time has expired since.
fn watched_key_expired(ctx: &Ctx) -> bool {
    ctx.client.watched.iter().any(|(db, key)| {
        let d = &ctx.store.dbs[*db];
        let flagged = d
            .watched
            .get(key)
            .and_then(|ws| ws.iter().find(|(c, _)| *c == ctx.client.id))
            .is_some_and(|(_, e)| *e);
        !flagged && d.expire_at(key).is_some_and(|w| w <= ctx.now)
    })
}

pub fn exec(ctx: &mut Ctx, _argv: &[Bytes]) -> CmdResult {
    let Some(queue) = ctx.client.multi.take() else {
        return Err(err("ERR EXEC without MULTI"));
    };
    if ctx.client.multi_error {
        discard_state(ctx);
        return Err(err(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if ctx.store.dirty_cas.contains(&ctx.client.id) || watched_key_expired(ctx) {
        discard_state(ctx);
        ctx.out.null_array();
        return Ok(());
    }
    unwatch_all(ctx);
    ctx.out.array(queue.len());
    let was = ctx.in_exec;
    ctx.in_exec = true;
    for argv in &queue {
        super::call_queued(ctx, argv);
    }
    ctx.in_exec = was;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;

    #[test]
    fn queue_errors_abort_runtime_errors_do_not() {
        let mut h = Harness::new();
        h.run("MULTI");
        assert_eq!(
            h.run("NOPE"),
            "-ERR unknown command 'NOPE', with args beginning with: \r\n"
        );
        assert_eq!(
            h.run("EXEC"),
            "-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
        h.run("MULTI");
        h.run("SET a 1");
        h.run("LPUSH a x");
        h.run("INCR a");
        assert_eq!(
            h.run("EXEC"),
            "*3\r\n+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:2\r\n"
        );
    }

    #[test]
    fn watch_sees_other_writers() {
        let mut h = Harness::new();
        h.run("WATCH k");
        h.client.id = 2;
        h.run("SET k changed");
        h.client.id = 1;
        h.run("MULTI");
        h.run("SET k mine");
        assert_eq!(h.run("EXEC"), "*-1\r\n");
        assert_eq!(h.run("GET k"), "$7\r\nchanged\r\n");
    }
}
