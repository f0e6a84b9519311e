//! `cargo xtask bench coord`.

use anyhow::{bail, Result};
use std::path::Path;

pub fn run(_root: &Path) -> Result<()> {
    bail!("bench coord is not written yet")
}
