//! Against the real bittensor 10.5.0 axon and 11.3.0's `http_auth`: see below.
