//! Network-namespace topologies for the end-to-end tests and the demo.
