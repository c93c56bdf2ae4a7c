//! Ids derived from what they name, so that doing the same thing twice
//! (a redelivered message, a retried command) lands on the same id.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A UUID from a digest of `parts`.
pub fn derived(parts: &[&[u8]]) -> Uuid {
    let mut digest = Sha256::new();
    for p in parts {
        digest.update(p);
        digest.update([0]);
    }
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.finalize()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}
