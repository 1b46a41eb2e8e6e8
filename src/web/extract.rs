//! `Form` and `Query` extractors whose rejection is our [`Error`], so malformed input gets
//! our error page instead of axum's plain text (which can echo the input).

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::extract::rejection::{FormRejection, QueryRejection};

use super::Error;

/// `axum::Form` with our rejection.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Form), rejection(Error))]
pub(super) struct Form<T>(pub T);

/// `axum::extract::Query` with our rejection.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub(super) struct Query<T>(pub T);

impl From<FormRejection> for Error {
    fn from(rejection: FormRejection) -> Self {
        Error::Rejected(rejection.body_text())
    }
}

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Self {
        Error::Rejected(rejection.body_text())
    }
}
