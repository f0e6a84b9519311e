//! Structured log lines on stderr: `ts=... level=... msg=... key=value...`.

pub fn log(level: &str, msg: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    let ts = crate::util::now_ms();
    let mut line = format!(
        "ts={}.{:03} level={} msg=\"{}\"",
        ts / 1000,
        ts % 1000,
        level,
        msg
    );
    for (k, v) in fields {
        line.push_str(&format!(" {k}={v}"));
    }
    eprintln!("{line}");
}
