//! Packet helpers shared by the two XDP objects (balancer and decap):
//! header layouts, checksums and IP-in-IP. The maps and the balancer's
//! logic live in the `balancer` binary so that the decap object carries
//! none of its maps.
#![no_std]

pub mod csum;
pub mod encap;
pub mod parse;
