//! Sign-in with external identity providers, producing one protocol-neutral [`Identity`].
//!
//! `oidc` is the OpenID Connect relying party; `saml` the SAML 2.0 service provider; `demo` is the built-in OpenID Provider that
//! exists only in `rolegate demo`. Knows nothing of mapping rules or roles.

mod claims;
pub mod demo;
pub mod demo_saml;
mod error;
mod identity;
pub mod oidc;
pub mod saml;

pub use claims::{claim_at_path, groups_from_claim, mfa_from_amr};
pub use error::SignInError;
pub use identity::{Identity, PastedAt, Protocol};
