//! VRRPv3 for IPv4: the packet codec, the pure state machine, and the
//! instance task that drives them over a raw socket.

pub mod instance;
pub mod machine;
pub mod packet;
pub mod socket;
