//! SS58 addresses (the substrate address format of hotkeys and coldkeys), for both wires and the
//! keys.
//!
//! An address is base58 of `prefix ++ public_key(32) ++ checksum(2)`, where the checksum is the first
//! two bytes of `blake2b-512("SS58PRE" ++ prefix ++ public_key)`. Bittensor addresses use the
//! one-byte prefix 42, giving 48 characters.

use blake2::{Blake2b512, Digest};

/// Checks an address's base58 and checksum; returns the 32-byte public key.
pub fn decode(address: &str) -> Result<[u8; 32], String> {
    let raw = bs58::decode(address)
        .into_vec()
        .map_err(|e| format!("not base58: {e}"))?;
    let prefix_len = match raw.first() {
        Some(b) if *b < 64 => 1,
        Some(b) if *b < 128 => 2,
        _ => return Err("unknown address prefix".into()),
    };
    if raw.len() != prefix_len + 32 + 2 {
        return Err(format!(
            "decodes to {} bytes, expected {}",
            raw.len(),
            prefix_len + 34
        ));
    }
    let (body, checksum) = raw.split_at(raw.len() - 2);
    let hash = Blake2b512::new()
        .chain_update(b"SS58PRE")
        .chain_update(body)
        .finalize();
    if hash[..2] != *checksum {
        return Err("checksum mismatch".into());
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&body[prefix_len..]);
    Ok(key)
}

/// The address of a 32-byte public key with a one-byte `prefix` (42 for Bittensor).
pub fn encode(public_key: &[u8; 32], prefix: u8) -> String {
    let mut raw = Vec::with_capacity(35);
    raw.push(prefix & 0x3f);
    raw.extend_from_slice(public_key);
    let hash = Blake2b512::new()
        .chain_update(b"SS58PRE")
        .chain_update(&raw)
        .finalize();
    raw.extend_from_slice(&hash[..2]);
    bs58::encode(raw).into_string()
}
