//! The facade's error: a caller's mistake, found before any RPC.

/// Why a call could not be made. Peers' failures are never errors: they are return codes.
#[derive(Debug, thiserror::Error)]
pub enum DendriteError {
    /// Endpoints or inputs in a form the reference rejects.
    #[error(transparent)]
    Format(#[from] dendrite_format::FormatError),
    /// A call the core rejects (counts, synapse parameters).
    #[error(transparent)]
    Call(#[from] dendrite_core::CallError),
    /// A key that cannot be made or read.
    #[error(transparent)]
    Key(#[from] dendrite_core::KeyError),
    /// A `BT_DENDRITE_*` variable that does not parse.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}
