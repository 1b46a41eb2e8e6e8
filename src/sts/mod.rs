//! Role sessions with AWS STS semantics: temporary credentials, session tokens, SigV4
//! verification, the STS Query API and its XML.
//!
//! Knows nothing of templates or pages; the rules are plain functions over plain values,
//! and the store is reached only through its traits.

mod access;
pub mod api;
mod assume;
mod error;
mod keys;
mod names;
mod permissions;
mod sigv4;
mod token;

pub use access::{AccessLevel, ServiceAccess, service_access};
pub use assume::{
    AssumeRequest, Assumer, Caller, Credentials, DEFAULT_DURATION, MIN_DURATION, RoleSession,
    assume,
};
pub use error::{KeyError, StsError, StsErrorCode};
pub use keys::SessionKeys;
pub use names::{AccessKeyId, RoleSessionName, role_id};
pub use permissions::{
    SessionRequest, evaluate_session, parse_session_policies, session_context, session_principal,
    session_user_id,
};
pub use sigv4::{SignedRequest, Verified, is_signed, verify_signature};
pub use token::{OriginalIdentity, SessionClaims, TokenRejection, credentials_of, issue, verify};
