//! rolegate: a federation identity broker.
//!
//! People sign in through an external identity provider (OpenID Connect or SAML 2.0), rules
//! turn what the provider says about them into the IAM roles they may assume across accounts,
//! and rolegate issues temporary role sessions. See the README's architecture section for the
//! module map and the request flow.

pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod directory;
pub mod idp;
pub mod mapping;
pub mod policy;
pub mod server;
pub mod store;
pub mod sts;
pub mod telemetry;
pub mod web;
