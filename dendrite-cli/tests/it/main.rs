//! dendrite-cli's integration tests in one binary (tests that need a process of their own are
//! binaries beside this one).

mod axon_memory;
mod cli;
