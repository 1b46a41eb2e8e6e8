//! Errors from the stores.

/// A store operation failed; callers treat this as "unavailable" and fail closed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or answered with an error.
    #[error("store backend unavailable: {0}")]
    Backend(String),
    /// A stored value could not be decoded (written by an incompatible version, or corrupt).
    #[error("stored value under `{key}` is unreadable: {reason}")]
    Corrupt {
        /// The key whose value was unreadable.
        key: String,
        /// The decoder's complaint.
        reason: String,
    },
}

impl From<redis::RedisError> for StoreError {
    fn from(error: redis::RedisError) -> Self {
        // The Redis error text can echo the URL, password included; keep only its kind.
        StoreError::Backend(format!("redis: {:?} error", error.kind()))
    }
}
