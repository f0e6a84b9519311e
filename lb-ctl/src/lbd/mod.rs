//! `lbd`, keepalived's job: YAML services, health checks, VRRPv3.
