//! Who signs a 3.x request and how, for both sides of the wire, with no RPC or torch dependency.
//!
//! - [`Keypair`]: sr25519 keys from dev URIs, mnemonics, seeds and bittensor wallet files, with
//!   their SS58 addresses; [`Keypair::sign_many`] signs a batch together; [`outside`]: keys
//!   whose secret a signer outside holds (a Python keypair that hides it).
//! - [`signature`]: the 3.x request signature (v2 and legacy): the signed text, the header, signing
//!   (one at a time, or a batch together) and verifying.
//! - [`nonce`]: request nonces, `time.time_ns()` kept strictly rising per signer.
//! - [`SigningScheme`]: every request signature a dendrite makes (3.x, the 10.x synapse headers,
//!   btauth/1) and whether it covers the body, which decides whether it may be made ahead.
//!
//! The client (`dendrite-core`) signs with it and the axon (`dendrite-axon`) verifies with it, so
//! neither depends on the other.
//!
//! ```
//! use dendrite_keys::signature::{sign_header, SignatureHeader};
//! use dendrite_keys::Keypair;
//! let alice = Keypair::from_uri("//Alice").unwrap();
//! let bob = Keypair::from_uri("//Bob").unwrap();
//! let header = sign_header(&alice, 370, bob.ss58_address(), 1, "uuid-1");
//! let parsed = SignatureHeader::parse(&header).unwrap();
//! assert_eq!(parsed.sender, alice.ss58_address());
//! assert!(parsed.verify(bob.ss58_address()));
//! assert!(!parsed.verify(alice.ss58_address()));
//! ```
//!
//! **Architecture invariant:** a header from the network is parsed into a typed error, never a
//! panic; verification needs the receiver's address, so a signature made for one axon does not
//! verify at another.

mod batch;
mod derivation;
mod error;
pub mod keys;
pub mod nonce;
pub mod outside;
mod scheme;
pub mod signature;

pub use keys::{KeyError, Keypair, SS58_PREFIX};
pub use outside::OutsideSigner;
pub use scheme::SigningScheme;
