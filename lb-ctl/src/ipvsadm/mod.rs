//! ipvsadm's language for `lbctl`: argument parsing, the table formats and
//! save/restore.
