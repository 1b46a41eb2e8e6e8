//! `Form` and `Query` extractors whose rejection is our [`Error`], so malformed input gets
//! our error page instead of axum's plain text (which can echo the input).

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::http::StatusCode;

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
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Error::PayloadTooLarge;
        }
        Error::Rejected(rejection.body_text())
    }
}

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Self {
        Error::Rejected(rejection.body_text())
    }
}

/// `axum::Json` with our rejection.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub(super) struct Json<T>(pub T);

impl From<axum::extract::rejection::JsonRejection> for Error {
    /// API clients get the parser's words: they describe only the client's own body.
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Error::PayloadTooLarge;
        }
        Error::InvalidInput {
            message: "The request body is not the JSON this endpoint takes.",
            details: vec![rejection.body_text()],
        }
    }
}
