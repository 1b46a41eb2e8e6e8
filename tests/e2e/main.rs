//! End-to-end tests: the real server on loopback, real Redis, the real binary.
//! One test binary (link time is expensive on our machines), a module per area.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

mod admin;
mod binary;
mod console;
mod console_browser;
mod docker;
mod limits;
mod log_hygiene;
mod mappings;
mod oidc;
mod oidc_peer;
mod policy;
mod portal;
mod readme;
mod saml;
mod saml_peer;
mod schema;
mod sign_in;
mod store_contract;
mod sts;
mod sts_peer;
mod support;
mod web;
