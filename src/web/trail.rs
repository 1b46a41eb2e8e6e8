//! One audit event per audited request, filled in as the request is handled.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::ConnectInfo;
use axum::http::HeaderMap;

use super::AppState;
use crate::audit::{AuditEvent, Origin, UserIdentity};
use crate::idp::Identity;
use crate::sts::{SessionClaims, session_user_id};

/// What the audit event of one request will say, filled in as the request is handled.
#[derive(Debug, Default)]
pub(super) struct Trail {
    pub(super) name: &'static str,
    pub(super) identity: UserIdentity,
    pub(super) request: serde_json::Value,
    pub(super) response: serde_json::Value,
    pub(super) region: Option<String>,
}

impl Trail {
    /// A trail for the event `name`.
    pub(super) fn named(name: &'static str) -> Self {
        Self {
            name,
            identity: UserIdentity {
                kind: "Unknown",
                ..UserIdentity::default()
            },
            ..Self::default()
        }
    }

    /// Writes the event from `source` for a request that ended with `result`: a failure
    /// carries its AWS code and public message.
    pub(super) fn record_result<T>(
        self,
        state: &AppState,
        source: &'static str,
        origin: &Origin,
        result: &Result<T, super::Error>,
    ) {
        let error = result
            .as_ref()
            .err()
            .map(|e| (e.audit_code(), e.public_message()));
        self.record(state, source, origin, error);
    }

    /// Writes the event from `source`, failed with `error` (AWS code, public message) or not.
    pub(super) fn record(
        self,
        state: &AppState,
        source: &'static str,
        origin: &Origin,
        error: Option<(&str, &str)>,
    ) {
        let mut event = AuditEvent::new(
            (source, self.name),
            state.clock.now(),
            origin,
            self.identity,
        )
        .request(self.request)
        .response(self.response);
        if let Some(region) = &self.region {
            event = event.region(region);
        }
        if let Some((code, message)) = error {
            event = event.error(code, message);
        }
        state.audit.record(&event);
    }
}

/// Where a request came from, for its audit event.
pub(super) fn audit_origin(
    headers: &HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Origin {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned()
    };
    Origin {
        source_ip: peer.map_or_else(
            || "-".to_owned(),
            |Extension(ConnectInfo(a))| a.ip().to_string(),
        ),
        user_agent: header("user-agent"),
        request_id: header("x-request-id"),
    }
}

/// A session's `userIdentity`: the assumed role, and the access key id (never the secret).
pub(super) fn session_identity(claims: &SessionClaims) -> UserIdentity {
    UserIdentity {
        kind: "AssumedRole",
        principal_id: Some(session_user_id(claims)),
        arn: Some(claims.sub.clone()),
        account_id: Some(claims.acct.clone()),
        access_key_id: Some(claims.akid.clone()),
        identity_provider: Some(claims.orig.idp.clone()),
        user_name: Some(claims.orig.subject.clone()),
    }
}

/// A signed-in person's `userIdentity`, for what they do in the browser.
pub(super) fn person_identity(identity: &Identity) -> UserIdentity {
    UserIdentity {
        kind: "FederatedUser",
        principal_id: Some(identity.owner_key()),
        identity_provider: Some(identity.idp.to_string()),
        user_name: Some(identity.subject.clone()),
        ..UserIdentity::default()
    }
}
