//! Redis-compatible key-value server.
