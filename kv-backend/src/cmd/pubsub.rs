//! SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE / PUNSUBSCRIBE / PUBLISH / PUBSUB.

use super::{err, CmdResult, Ctx};
use crate::pubsub::Subscriber;
use crate::types::{sds, Sds};
use crate::util::glob_match;
use bytes::Bytes;

fn confirm(ctx: &mut Ctx, kind: &[u8], name: Option<&[u8]>) {
    let count = ctx.client.subscriptions() as i64;
    let start = ctx.out.buf.len();
    ctx.out.push(3);
    ctx.out.bulk(kind);
    match name {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    ctx.out.int(count);
    let replies_dropped = ctx.client.reply_off || ctx.client.skip_this_reply;
    if replies_dropped && !ctx.in_exec {
        let confirmation = ctx.out.buf.split_off(start);
        ctx.client
            .pushes_despite_reply_off
            .extend_from_slice(&confirmation);
    }
}

fn me(ctx: &Ctx) -> Subscriber {
    Subscriber {
        tx: ctx.client.tx.clone(),
        resp3: ctx.client.resp3,
    }
}

pub fn subscribe(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    for ch in &argv[1..] {
        if ctx.client.channels.insert(sds(ch)) {
            let s = me(ctx);
            ctx.store.pubsub.subscribe(ch, ctx.client.id, s);
        }
        confirm(ctx, b"subscribe", Some(ch));
    }
    Ok(())
}

pub fn psubscribe(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    for p in &argv[1..] {
        if ctx.client.patterns.insert(sds(p)) {
            let s = me(ctx);
            ctx.store.pubsub.psubscribe(p, ctx.client.id, s);
        }
        confirm(ctx, b"psubscribe", Some(p));
    }
    Ok(())
}

pub fn unsubscribe(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let targets: Vec<Sds> = if argv.len() > 1 {
        argv[1..].iter().map(|c| sds(c)).collect()
    } else {
        ctx.client.channels.iter().cloned().collect()
    };
    if targets.is_empty() {
        confirm(ctx, b"unsubscribe", None);
    }
    for ch in targets {
        ctx.client.channels.remove(&ch);
        ctx.store.pubsub.unsubscribe(&ch, ctx.client.id);
        confirm(ctx, b"unsubscribe", Some(&ch));
    }
    Ok(())
}

pub fn punsubscribe(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let targets: Vec<Sds> = if argv.len() > 1 {
        argv[1..].iter().map(|c| sds(c)).collect()
    } else {
        ctx.client.patterns.iter().cloned().collect()
    };
    if targets.is_empty() {
        confirm(ctx, b"punsubscribe", None);
    }
    for p in targets {
        ctx.client.patterns.remove(&p);
        ctx.store.pubsub.punsubscribe(&p, ctx.client.id);
        confirm(ctx, b"punsubscribe", Some(&p));
    }
    Ok(())
}

/// Drops every subscription of this client (disconnect, RESET).
pub fn unsubscribe_all(ctx: &mut Ctx) {
    for ch in std::mem::take(&mut ctx.client.channels) {
        ctx.store.pubsub.unsubscribe(&ch, ctx.client.id);
    }
    for p in std::mem::take(&mut ctx.client.patterns) {
        ctx.store.pubsub.punsubscribe(&p, ctx.client.id);
    }
}

pub fn publish(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let n = ctx.store.pubsub.publish(&argv[1], &argv[2]);
    ctx.store.stats.pubsub_messages += 1;
    ctx.out.int(n as i64);
    Ok(())
}

pub fn pubsub(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "channels" | "shardchannels" if argv.len() <= 3 => {
            let names: Vec<Sds> = if sub == "shardchannels" {
                Vec::new()
            } else {
                ctx.store
                    .pubsub
                    .channels
                    .keys()
                    .filter(|c| argv.get(2).is_none_or(|p| glob_match(p, c, false)))
                    .cloned()
                    .collect()
            };
            ctx.out.bulks(names.iter());
        }
        "numsub" | "shardnumsub" => {
            ctx.out.map(argv.len() - 2);
            for ch in &argv[2..] {
                let n = if sub == "numsub" {
                    ctx.store
                        .pubsub
                        .channels
                        .get(ch.as_ref())
                        .map_or(0, |s| s.len())
                } else {
                    0
                };
                ctx.out.bulk(ch);
                ctx.out.int(n as i64);
            }
        }
        "numpat" if argv.len() == 2 => ctx.out.int(ctx.store.pubsub.numpat() as i64),
        "help" if argv.len() == 2 => {
            const HELP: &[&str] = &[
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "SHARDCHANNELS [<pattern>]",
                "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                "SHARDNUMSUB [<shardchannel> ...]",
                "    Return the number of subscribers for the specified shard level channel(s)",
                "HELP",
                "    Prints this help.",
            ];
            ctx.out.array(HELP.len());
            HELP.iter().for_each(|l| ctx.out.simple(l));
        }
        // Too many patterns: Redis' own wording (dispatch checked the
        // minimum arity).
        "channels" | "shardchannels" => {
            return Err(err(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
                String::from_utf8_lossy(&argv[1])
            )))
        }
        _ => {
            return Err(err(format!(
                "ERR unknown subcommand '{}'. Try PUBSUB HELP.",
                String::from_utf8_lossy(&argv[1])
            )))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;

    #[test]
    fn publish_reaches_channel_and_pattern_subscribers() {
        let mut h = Harness::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        h.client.tx = tx;
        assert_eq!(
            h.run("SUBSCRIBE news"),
            "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
        );
        assert_eq!(
            h.run("PSUBSCRIBE n*"),
            "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n"
        );
        assert!(h.run("GET k").starts_with("-ERR Can't execute 'get'"));
        h.client.channels.clear();
        h.client.patterns.clear();
        assert_eq!(h.run("PUBLISH news hi"), ":2\r\n");
        let mut got = Vec::new();
        while let Ok(crate::clients::Push::Data(d)) = rx.try_recv() {
            got.push(String::from_utf8_lossy(&d).into_owned());
        }
        assert_eq!(got.len(), 2);
        assert!(got[0].contains("message") && got[1].contains("pmessage"));
    }
}
