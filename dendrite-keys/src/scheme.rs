//! The request signatures Bittensor peers check, and what each covers: whether a request can be
//! signed before its body exists.
//!
//! **Invariant:** a scheme that covers the body is signed at send time, never ahead
//! ([`SigningScheme::may_sign_ahead`]); only one that does not may have its signatures made
//! before the call that sends them (the 3.x receptor's presigned lanes).

/// One of the request signatures a dendrite makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigningScheme {
    /// The 3.x `bittensor-signature` ([`crate::signature`]): nonce, sender, receiver and uuid.
    Bittensor3,
    /// The 10.x synapse headers (`bt_header_dendrite_signature`): nonce, sender, receiver, uuid
    /// and the SHA3 of the synapse's hash fields.
    Synapse10,
    /// btauth/1 (bittensor 11's `http_auth`): method, path, the SHA-256 of the body, the
    /// receiver and a nonce.
    BtAuth1,
}

impl SigningScheme {
    /// Every scheme.
    pub const ALL: [SigningScheme; 3] = [
        SigningScheme::Bittensor3,
        SigningScheme::Synapse10,
        SigningScheme::BtAuth1,
    ];

    /// Whether the signed text includes (a hash of) the request's body.
    pub const fn covers_body(self) -> bool {
        match self {
            SigningScheme::Bittensor3 => false,
            SigningScheme::Synapse10 | SigningScheme::BtAuth1 => true,
        }
    }

    /// Whether a request's signature can be made before its body is known: only when the
    /// scheme does not cover the body.
    pub const fn may_sign_ahead(self) -> bool {
        !self.covers_body()
    }

    /// The scheme's name: `"bittensor-3"`, `"synapse-10"`, `"btauth/1"`.
    pub const fn name(self) -> &'static str {
        match self {
            SigningScheme::Bittensor3 => "bittensor-3",
            SigningScheme::Synapse10 => "synapse-10",
            SigningScheme::BtAuth1 => "btauth/1",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_3x_signature_may_be_made_ahead() {
        let ahead: Vec<_> = SigningScheme::ALL
            .into_iter()
            .filter(|s| s.may_sign_ahead())
            .collect();
        assert_eq!(ahead, [SigningScheme::Bittensor3]);
    }
}
