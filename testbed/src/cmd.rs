//! Running external commands (ip, ethtool, ...) with errors that say what failed and why.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use anyhow::{bail, Context, Result};

/// Runs `cmd` to completion; returns its stdout, or an error holding the command line, the exit
/// status and stderr.
pub fn run_checked(cmd: &mut Command) -> Result<String> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", describe(cmd)))?;
    check(cmd, output)
}

/// Like [`run_checked`], feeding `input` to the command's stdin (for `ip -batch -`).
pub fn run_with_input(cmd: &mut Command, input: &str) -> Result<String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", describe(cmd)))?;
    // Write then drop stdin so the command sees EOF; the input is small, so this can't
    // deadlock against a full stdout pipe.
    let write_result = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes());
    let output = child.wait_with_output()?;
    write_result.with_context(|| format!("writing to {}", describe(cmd)))?;
    check(cmd, output).with_context(|| format!("input was:\n{input}"))
}

fn check(cmd: &Command, output: Output) -> Result<String> {
    if !output.status.success() {
        bail!(
            "{} failed ({}): {}",
            describe(cmd),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// "prog arg1 arg2" for error messages.
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}
