//! dendrite-http's integration tests: the captured bytes of the real 10.5.0 dendrite
//! ([`captured`]) and properties of the parsers and writers ([`properties`]). The live tests
//! against the real 10.5.0 axon and 11.3.0's `http_auth` are dendrite-core's (`peer10`).

mod captured;
mod properties;
