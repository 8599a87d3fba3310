//! dendrite-keys' integration tests in one binary.

mod keys;
