//! dendrite-http's integration tests: the captured bytes of the real 10.5.0 dendrite
//! ([`captured`]) and the real 10.5.0 axon and 11.3.0 `http_auth` on loopback ([`peer10`]).

mod captured;
mod peer10;
