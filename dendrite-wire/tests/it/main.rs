//! dendrite-wire's integration tests in one binary (tests that need a process of their own are
//! binaries beside this one).

mod bounds;
mod common;
mod endpoint;
mod fixtures;
mod properties;
