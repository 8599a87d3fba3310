//! dendrite-core's integration tests in one binary (tests that need a process of their own are
//! binaries beside this one).

mod backward;
#[path = "../common/mod.rs"]
mod common;
mod epistula;
mod fanout;
mod http_axon;
mod http_strangers;
mod peer10;
mod phases;
mod policies;
mod wire_faults;
