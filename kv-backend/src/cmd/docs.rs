//! COMMAND DOCS: summaries and argument trees, enough for redis-cli to show
//! its usual hints (`SET key value [NX|XX] ...`) while you type.
//!
//! Each command's syntax is written once, in the notation of Redis' docs,
//! and turned into COMMAND DOCS argument maps:
//! `UPPER` = a pure token, `lower` = a value, `TOKEN value` = a value after a
//! token, `[...]` = optional, `a|b` = one of, `x...` = may repeat.

use crate::frame::Reply;

const SYNTAX: &[(&str, &str, &str)] = &[
    ("get", "key", "Get the value of a key"),
    ("set", "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", "Set the string value of a key"),
    ("setnx", "key value", "Set the value of a key, only if the key does not exist"),
    ("setex", "key seconds value", "Set the value and expiration of a key"),
    ("psetex", "key milliseconds value", "Set the value and expiration in milliseconds of a key"),
    ("getex", "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]", "Get the value of a key and optionally set its expiration"),
    ("getdel", "key", "Get the value of a key and delete the key"),
    ("getset", "key value", "Set the string value of a key and return its old value"),
    ("mset", "[key value]...", "Set multiple keys to multiple values"),
    ("msetnx", "[key value]...", "Set multiple keys to multiple values, only if none of the keys exist"),
    ("mget", "key...", "Get the values of all the given keys"),
    ("append", "key value", "Append a value to a key"),
    ("strlen", "key", "Get the length of the value stored in a key"),
    ("getrange", "key start end", "Get a substring of the string stored at a key"),
    ("setrange", "key offset value", "Overwrite part of a string at key starting at the specified offset"),
    ("incr", "key", "Increment the integer value of a key by one"),
    ("decr", "key", "Decrement the integer value of a key by one"),
    ("incrby", "key increment", "Increment the integer value of a key by the given amount"),
    ("decrby", "key decrement", "Decrement the integer value of a key by the given number"),
    ("incrbyfloat", "key increment", "Increment the float value of a key by the given amount"),
    ("setbit", "key offset value", "Sets or clears the bit at offset in the string value stored at key"),
    ("getbit", "key offset", "Returns the bit value at offset in the string value stored at key"),
    ("bitcount", "key [start end [BYTE|BIT]]", "Count set bits in a string"),
    ("bitpos", "key bit [start [end [BYTE|BIT]]]", "Find first bit set or clear in a string"),
    ("bitop", "operation destkey key...", "Perform bitwise operations between strings"),
    ("del", "key...", "Delete a key"),
    ("unlink", "key...", "Delete a key asynchronously in another thread"),
    ("exists", "key...", "Determine if a key exists"),
    ("type", "key", "Determine the type stored at key"),
    ("rename", "key newkey", "Rename a key"),
    ("renamenx", "key newkey", "Rename a key, only if the new key does not exist"),
    ("keys", "pattern", "Find all keys matching the given pattern"),
    ("scan", "cursor [MATCH pattern] [COUNT count] [TYPE type]", "Incrementally iterate the keys space"),
    ("move", "key db", "Move a key to another database"),
    ("expire", "key seconds [NX|XX|GT|LT]", "Set a key's time to live in seconds"),
    ("pexpire", "key milliseconds [NX|XX|GT|LT]", "Set a key's time to live in milliseconds"),
    ("expireat", "key unix-time-seconds [NX|XX|GT|LT]", "Set the expiration for a key as a UNIX timestamp"),
    ("pexpireat", "key unix-time-milliseconds [NX|XX|GT|LT]", "Set the expiration for a key as a UNIX timestamp specified in milliseconds"),
    ("ttl", "key", "Get the time to live for a key in seconds"),
    ("pttl", "key", "Get the time to live for a key in milliseconds"),
    ("persist", "key", "Remove the expiration from a key"),
    ("select", "index", "Change the selected database for the current connection"),
    ("swapdb", "index1 index2", "Swaps two Redis databases"),
    ("flushdb", "[ASYNC|SYNC]", "Remove all keys from the current database"),
    ("flushall", "[ASYNC|SYNC]", "Remove all keys from all databases"),
    ("lpush", "key element...", "Prepend one or multiple elements to a list"),
    ("rpush", "key element...", "Append one or multiple elements to a list"),
    ("lpop", "key [count]", "Remove and get the first elements in a list"),
    ("rpop", "key [count]", "Remove and get the last elements in a list"),
    ("lrange", "key start stop", "Get a range of elements from a list"),
    ("lindex", "key index", "Get an element from a list by its index"),
    ("lset", "key index element", "Set the value of an element in a list by its index"),
    ("lrem", "key count element", "Remove elements from a list"),
    ("linsert", "key BEFORE|AFTER pivot element", "Insert an element before or after another element in a list"),
    ("ltrim", "key start stop", "Trim a list to the specified range"),
    ("lpos", "key element [RANK rank] [COUNT num-matches] [MAXLEN len]", "Return the index of matching elements on a list"),
    ("lmove", "source destination LEFT|RIGHT LEFT|RIGHT", "Pop an element from a list, push it to another list and return it"),
    ("lmpop", "numkeys key... LEFT|RIGHT [COUNT count]", "Pop elements from a list"),
    ("blpop", "key... timeout", "Remove and get the first element in a list, or block until one is available"),
    ("brpop", "key... timeout", "Remove and get the last element in a list, or block until one is available"),
    ("blmove", "source destination LEFT|RIGHT LEFT|RIGHT timeout", "Pop an element from a list, push it to another list and return it; or block until one is available"),
    ("hset", "key [field value]...", "Set the string value of a hash field"),
    ("hget", "key field", "Get the value of a hash field"),
    ("hmget", "key field...", "Get the values of all the given hash fields"),
    ("hdel", "key field...", "Delete one or more hash fields"),
    ("hgetall", "key", "Get all the fields and values in a hash"),
    ("hincrby", "key field increment", "Increment the integer value of a hash field by the given number"),
    ("hincrbyfloat", "key field increment", "Increment the float value of a hash field by the given amount"),
    ("hrandfield", "key [count [WITHVALUES]]", "Get one or multiple random fields from a hash"),
    ("hscan", "key cursor [MATCH pattern] [COUNT count]", "Incrementally iterate hash fields and associated values"),
    ("sadd", "key member...", "Add one or more members to a set"),
    ("srem", "key member...", "Remove one or more members from a set"),
    ("smembers", "key", "Get all the members in a set"),
    ("srandmember", "key [count]", "Get one or multiple random members from a set"),
    ("sinter", "key...", "Intersect multiple sets"),
    ("sinterstore", "destination key...", "Intersect multiple sets and store the resulting set in a key"),
    ("sintercard", "numkeys key... [LIMIT limit]", "Intersect multiple sets and return the cardinality of the result"),
    ("zadd", "key [NX|XX] [GT|LT] [CH] [INCR] [score member]...", "Add one or more members to a sorted set, or update its score if it already exists"),
    ("zrange", "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]", "Return a range of members in a sorted set"),
    ("zrangebyscore", "key min max [WITHSCORES] [LIMIT offset count]", "Return a range of members in a sorted set, by score"),
    ("zrank", "key member", "Determine the index of a member in a sorted set"),
    ("zscore", "key member", "Get the score associated with the given member in a sorted set"),
    ("zincrby", "key increment member", "Increment the score of a member in a sorted set"),
    ("zunionstore", "destination numkeys key... [WEIGHTS weight...] [AGGREGATE SUM|MIN|MAX]", "Add multiple sorted sets and store the resulting sorted set in a new key"),
    ("zinterstore", "destination numkeys key... [WEIGHTS weight...] [AGGREGATE SUM|MIN|MAX]", "Intersect multiple sorted sets and store the resulting sorted set in a new key"),
    ("zremrangebyrank", "key start stop", "Remove all members in a sorted set within the given indexes"),
    ("zremrangebyscore", "key min max", "Remove all members in a sorted set within the given scores"),
    ("zpopmin", "key [count]", "Remove and return members with the lowest scores in a sorted set"),
    ("zpopmax", "key [count]", "Remove and return members with the highest scores in a sorted set"),
    ("bzpopmin", "key... timeout", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available"),
    ("zscan", "key cursor [MATCH pattern] [COUNT count]", "Incrementally iterate sorted sets elements and associated scores"),
    ("subscribe", "channel...", "Listen for messages published to the given channels"),
    ("psubscribe", "pattern...", "Listen for messages published to channels matching the given patterns"),
    ("publish", "channel message", "Post a message to a channel"),
    ("watch", "key...", "Watch the given keys to determine execution of the MULTI/EXEC block"),
    ("auth", "[username] password", "Authenticate to the server"),
    ("hello", "[protover [AUTH username password] [SETNAME clientname]]", "Handshake with Redis"),
    ("echo", "message", "Echo the given string"),
    ("ping", "[message]", "Ping the server"),
    ("object", "subcommand [key]", "A container for object introspection commands"),
    ("bf.add", "key item", "Adds an item to a Bloom Filter"),
    ("bf.exists", "key item", "Checks whether an item exists in a Bloom Filter"),
    ("bf.reserve", "key error_rate capacity [EXPANSION expansion] [NONSCALING]", "Creates a new Bloom Filter"),
    ("slowlog", "subcommand [argument...]", "A container for slow log commands"),
    ("latency", "subcommand [argument...]", "A container for latency diagnostics commands"),
    ("monitor", "", "Listen for all requests received by the server in real time"),
];

/// One argument in COMMAND DOCS' shape.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A value, maybe after a token: (name, token).
    Value {
        name: String,
        token: Option<String>,
        optional: bool,
        multiple: bool,
    },
    PureToken {
        token: String,
        optional: bool,
    },
    OneOf {
        args: Vec<Arg>,
        optional: bool,
    },
    Block {
        args: Vec<Arg>,
        optional: bool,
        multiple: bool,
    },
}

fn is_token(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_uppercase()) && !w.chars().any(|c| c.is_ascii_lowercase())
}

/// Splits at top-level occurrences of `sep` (outside brackets).
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Parses a sequence of items: `[...]` groups, `a|b` choices, words.
fn parse_seq(s: &str) -> Vec<Arg> {
    let mut items = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let mut depth = 1;
            let end = inner.char_indices().find(|&(_, c)| {
                depth += match c {
                    '[' => 1,
                    ']' => -1,
                    _ => 0,
                };
                depth == 0
            });
            let close = end.map_or(inner.len(), |(i, _)| i);
            let after = &inner[(close + 1).min(inner.len())..];
            let (multiple, after) = match after.strip_prefix("...") {
                Some(a) => (true, a),
                None => (false, after),
            };
            items.push(group(&inner[..close], true, multiple));
            rest = after.trim_start();
        } else {
            let word_end = rest.find(' ').unwrap_or(rest.len());
            let word = &rest[..word_end];
            rest = rest[word_end..].trim_start();
            if word.contains('|') {
                items.push(Arg::OneOf {
                    args: word.split('|').map(|w| single(w, false)).collect(),
                    optional: false,
                });
            } else if is_token(word) && !rest.is_empty() && !rest.starts_with('[') {
                // `TOKEN value`: the token introduces the next value.
                let next_end = rest.find(' ').unwrap_or(rest.len());
                let next = &rest[..next_end];
                if !is_token(next) && !next.contains('|') {
                    rest = rest[next_end..].trim_start();
                    let (name, multiple) = strip_dots(next);
                    items.push(Arg::Value {
                        name,
                        token: Some(word.to_string()),
                        optional: false,
                        multiple,
                    });
                    continue;
                }
                items.push(single(word, false));
            } else {
                items.push(single(word, false));
            }
        }
    }
    items
}

fn strip_dots(w: &str) -> (String, bool) {
    match w.strip_suffix("...") {
        Some(n) => (n.to_string(), true),
        None => (w.to_string(), false),
    }
}

fn single(word: &str, optional: bool) -> Arg {
    if is_token(word) {
        Arg::PureToken {
            token: word.to_string(),
            optional,
        }
    } else {
        let (name, multiple) = strip_dots(word);
        Arg::Value {
            name,
            token: None,
            optional,
            multiple,
        }
    }
}

/// The contents of `[...]`: choices, a single item, or a block.
fn group(inner: &str, optional: bool, multiple: bool) -> Arg {
    let choices = split_top(inner, '|');
    if choices.len() > 1 {
        let args = choices.iter().map(|c| group(c, false, false)).collect();
        return Arg::OneOf { args, optional };
    }
    let mut seq = parse_seq(inner);
    if seq.len() == 1 && !multiple {
        let mut a = seq.remove(0);
        match &mut a {
            Arg::Value { optional: o, .. }
            | Arg::PureToken { optional: o, .. }
            | Arg::OneOf { optional: o, .. }
            | Arg::Block { optional: o, .. } => *o = optional,
        }
        return a;
    }
    Arg::Block {
        args: seq,
        optional,
        multiple,
    }
}

fn write_arg(out: &mut Reply, a: &Arg) {
    let flags = |optional: bool, multiple: bool| -> Vec<&'static str> {
        let mut f = Vec::new();
        if optional {
            f.push("optional");
        }
        if multiple {
            f.push("multiple");
        }
        f
    };
    let (name, kind, token, fl, children): (
        String,
        &str,
        Option<&str>,
        Vec<&str>,
        Option<&Vec<Arg>>,
    ) = match a {
        Arg::Value {
            name,
            token,
            optional,
            multiple,
        } => {
            let kind = if name == "key"
                || name.ends_with("key")
                || name == "source"
                || name == "destination"
            {
                "key"
            } else {
                "string"
            };
            (
                name.clone(),
                kind,
                token.as_deref(),
                flags(*optional, *multiple),
                None,
            )
        }
        Arg::PureToken { token, optional } => (
            token.to_ascii_lowercase(),
            "pure-token",
            Some(token.as_str()),
            flags(*optional, false),
            None,
        ),
        Arg::OneOf { args, optional } => (
            "choice".into(),
            "oneof",
            None,
            flags(*optional, false),
            Some(args),
        ),
        Arg::Block {
            args,
            optional,
            multiple,
        } => (
            "block".into(),
            "block",
            None,
            flags(*optional, *multiple),
            Some(args),
        ),
    };
    let fields =
        2 + token.is_some() as usize + !fl.is_empty() as usize + children.is_some() as usize;
    out.map(fields);
    out.bulk(b"name");
    out.bulk(name.as_bytes());
    out.bulk(b"type");
    out.bulk(kind.as_bytes());
    if let Some(t) = token {
        out.bulk(b"token");
        out.bulk(t.as_bytes());
    }
    if !fl.is_empty() {
        out.bulk(b"flags");
        out.set(fl.len());
        for f in fl {
            out.simple(f);
        }
    }
    if let Some(ch) = children {
        out.bulk(b"arguments");
        out.array(ch.len());
        for c in ch {
            write_arg(out, c);
        }
    }
}

/// One COMMAND DOCS entry: name, then a map with summary, since, group and
/// (where we know the syntax) arguments.
pub fn write_docs(out: &mut Reply, name: &str, group: &str) {
    let entry = SYNTAX.iter().find(|(n, _, _)| *n == name);
    let summary = entry.map_or_else(
        || format!("{} command", name.to_ascii_uppercase()),
        |e| e.2.to_string(),
    );
    out.bulk(name.as_bytes());
    out.map(if entry.is_some() { 4 } else { 3 });
    out.bulk(b"summary");
    out.bulk(summary.as_bytes());
    out.bulk(b"since");
    out.bulk(b"1.0.0");
    out.bulk(b"group");
    out.bulk(group.as_bytes());
    if let Some((_, syntax, _)) = entry {
        let args = parse_seq(syntax);
        out.bulk(b"arguments");
        out.array(args.len());
        for a in &args {
            write_arg(out, a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders arguments the way redis-cli builds its hints.
    fn hint(args: &[Arg], sep: &str) -> String {
        args.iter().map(render).collect::<Vec<_>>().join(sep)
    }

    fn render(a: &Arg) -> String {
        let (token, repeat, optional, multiple) = match a {
            Arg::Value {
                name,
                token,
                optional,
                multiple,
            } => (token.clone(), name.clone(), *optional, *multiple),
            Arg::PureToken { token, optional } => {
                (Some(token.clone()), String::new(), *optional, false)
            }
            Arg::OneOf { args, optional } => (None, hint(args, "|"), *optional, false),
            Arg::Block {
                args,
                optional,
                multiple,
            } => (None, hint(args, " "), *optional, *multiple),
        };
        let mut s = String::new();
        if optional {
            s.push('[');
        }
        if let Some(t) = &token {
            s.push_str(t);
            if !repeat.is_empty() {
                s.push(' ');
            }
        }
        s.push_str(&repeat);
        if multiple {
            s.push_str(&format!(" [{repeat} ...]"));
        }
        if optional {
            s.push(']');
        }
        s
    }

    #[test]
    fn syntax_round_trips_into_redis_cli_hints() {
        let set = SYNTAX.iter().find(|e| e.0 == "set").unwrap().1;
        assert_eq!(hint(&parse_seq(set), " "), set);
        assert_eq!(
            hint(&parse_seq("key element..."), " "),
            "key element [element ...]"
        );
        assert_eq!(
            hint(&parse_seq("key [count [WITHVALUES]]"), " "),
            "key [count [WITHVALUES]]"
        );
        assert_eq!(
            hint(&parse_seq("[key value]..."), " "),
            "[key value [key value ...]]"
        );
        for (name, syntax, _) in SYNTAX {
            let mut r = Reply::new(false);
            write_docs(&mut r, name, "generic");
            assert!(!r.buf.is_empty(), "{syntax}");
        }
    }
}
