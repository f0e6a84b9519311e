//! `cargo xtask bench kv`.

use anyhow::{bail, Result};
use std::path::Path;

pub fn run(_root: &Path) -> Result<()> {
    bail!("bench kv is not written yet")
}
