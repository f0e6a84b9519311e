//! ZooKeeper-compatible coordination server.
