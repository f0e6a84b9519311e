//! How `lbctl` fails: a message for stderr and the exit status ipvsadm
//! would use for the same failure, because scripts test `$?`.

use crate::error::LbError;

/// Bad usage caught while parsing (ipvsadm's `fail(2, ...)`).
pub const EXIT_USAGE: i32 = 2;
/// The operation was refused (ipvsadm returns -1 from main: 255).
pub const EXIT_OPERATION: i32 = 255;
/// A listing could not be made (ipvsadm's `exit(1)` in the list paths).
pub const EXIT_LIST: i32 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub message: String,
    pub code: i32,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: EXIT_USAGE,
        }
    }

    pub fn operation(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: EXIT_OPERATION,
        }
    }

    /// popt's "Try `prog -h' ..." exit, for a command line without a
    /// command.
    pub fn try_help() -> CliError {
        CliError {
            message: "Try `lbctl -h' or 'lbctl --help' for more information.".into(),
            code: EXIT_OPERATION,
        }
    }

    /// A library error from a table-changing command. A missing data
    /// plane is ipvsadm's "Can't initialize ipvs", which exits 2.
    pub fn from_lb(e: LbError) -> CliError {
        match e {
            LbError::NotLoaded(_) => not_loaded(&e),
            other => CliError::operation(other.to_string()),
        }
    }

    /// The same, for the list paths, which exit 1.
    pub fn from_lb_listing(e: LbError) -> CliError {
        match e {
            LbError::NotLoaded(_) => not_loaded(&e),
            other => CliError {
                message: other.to_string(),
                code: EXIT_LIST,
            },
        }
    }
}

/// The missing-data-plane message, with the reason when the pins are
/// only out of sight.
fn not_loaded(e: &LbError) -> CliError {
    match super::xdp::missing_bpffs_hint() {
        Some(hint) => CliError::usage(format!("{e}\n{hint}")),
        None => CliError::usage(e.to_string()),
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

pub type CliResult<T> = std::result::Result<T, CliError>;
