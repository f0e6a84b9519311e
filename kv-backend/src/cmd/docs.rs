//! COMMAND DOCS for the commands redis-server does not describe (the bf.*
//! module commands; Redis' own come from `meta`): summaries and argument
//! trees, enough for redis-cli to show its hints (`BF.ADD key item`).
//!
//! Each command's syntax is written once, in the notation of Redis' docs,
//! and turned into COMMAND DOCS argument maps:
//! `UPPER` = a pure token, `lower` = a value, `TOKEN value` = a value after a
//! token, `[...]` = optional, `a|b` = one of, `x...` = may repeat.

use crate::frame::Reply;

const SYNTAX: &[(&str, &str, &str)] = &[
    ("bf.add", "key item", "Adds an item to a Bloom Filter"),
    (
        "bf.exists",
        "key item",
        "Checks whether an item exists in a Bloom Filter",
    ),
    (
        "bf.reserve",
        "key error_rate capacity [EXPANSION expansion] [NONSCALING]",
        "Creates a new Bloom Filter",
    ),
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
        let set = "key value [NX|XX] [GET] [EX seconds|PX milliseconds|KEEPTTL]";
        assert_eq!(hint(&parse_seq(set), " "), set);
        let reserve = SYNTAX.iter().find(|e| e.0 == "bf.reserve").unwrap().1;
        assert_eq!(hint(&parse_seq(reserve), " "), reserve);
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
