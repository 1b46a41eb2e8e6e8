//! What revoking and listing role sessions mean, shared by the signed sessions API and the
//! admin page: one session (by access key id), a role's sessions issued before a time
//! (AWS's "revoke active sessions"), or every session of one person; and a role's or a
//! person's active sessions, without secrets.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::role_sessions::StoredSession;
use super::{AppState, Error};
use crate::clock::unix_seconds;
use crate::store::{RevocationTarget, SessionFacts};

/// The longest a role session can live (AWS's 12 hours): a revocation is kept that long.
const LONGEST_SESSION: Duration = Duration::from_secs(12 * 3600);

/// One of the three things that can be revoked.
#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub(super) enum RevokeInput {
    /// One session.
    Session { access_key_id: String },
    /// A role's sessions issued before a time (RFC 3339; default now).
    Role {
        role_arn: String,
        issued_before: Option<String>,
    },
    /// Every session of one person.
    Person { idp: String, subject: String },
}

/// A revocation, worked out and ready to apply.
#[derive(Debug)]
pub(super) struct Revocation {
    pub(super) target: RevocationTarget,
    /// Sessions issued strictly before this (Unix seconds) are revoked; `u64::MAX` for one
    /// session.
    issued_before: u64,
    /// The ARN an IAM permission check names: the role, or `*` for a person.
    pub(super) resource: String,
    keep_until: SystemTime,
}

impl Revocation {
    /// What `input` revokes at `now`.
    pub(super) async fn plan(
        state: &AppState,
        input: &RevokeInput,
        now: SystemTime,
    ) -> Result<Self, Error> {
        Ok(match input {
            RevokeInput::Session { access_key_id } => {
                let record = state.stores.role_sessions.get(access_key_id).await?;
                let resource = record
                    .as_ref()
                    .map_or("*".to_owned(), |r| r.role_arn.clone());
                let keep_until = record.map_or(now + LONGEST_SESSION, |r| {
                    UNIX_EPOCH + Duration::from_secs(r.expires_at)
                });
                Self {
                    target: RevocationTarget::Session(access_key_id.clone()),
                    issued_before: u64::MAX,
                    resource,
                    keep_until,
                }
            }
            RevokeInput::Role {
                role_arn,
                issued_before,
            } => {
                let issued_before = match issued_before.as_deref() {
                    None | Some("") => before_now(now),
                    Some(text) => parse_rfc3339(text).ok_or(Error::BadRequest(
                        "`issued_before` must be an RFC 3339 time such as 2026-12-01T12:00:00Z.",
                    ))?,
                };
                Self {
                    target: RevocationTarget::Role(role_arn.clone()),
                    issued_before,
                    resource: role_arn.clone(),
                    keep_until: now + LONGEST_SESSION,
                }
            }
            RevokeInput::Person { idp, subject } => Self {
                target: RevocationTarget::Owner(format!("{idp}/{subject}")),
                issued_before: before_now(now),
                resource: "*".to_owned(),
                keep_until: now + LONGEST_SESSION,
            },
        })
    }

    /// Records it in the store every instance reads; what was revoked, as JSON.
    pub(super) async fn apply(
        &self,
        state: &AppState,
        by: &str,
    ) -> Result<serde_json::Value, Error> {
        state
            .stores
            .revocations
            .revoke(&self.target, self.issued_before, self.keep_until)
            .await?;
        tracing::info!(target = ?self.target, by = %by, "revoked role sessions");
        Ok(json!({
            "revoked": describe(&self.target),
            "issued_before": (self.issued_before != u64::MAX).then(|| iso(self.issued_before)),
        }))
    }
}

/// The cut-off that includes sessions issued in the current second: issue times are whole
/// seconds.
fn before_now(now: SystemTime) -> u64 {
    unix_seconds(now) + 1
}

/// A revocation target as the audit log and the API answer name it.
pub(super) fn describe(target: &RevocationTarget) -> serde_json::Value {
    match target {
        RevocationTarget::Session(id) => json!({ "access_key_id": id }),
        RevocationTarget::Role(arn) => json!({ "role_arn": arn }),
        RevocationTarget::Owner(owner) => json!({ "owner": owner }),
    }
}

/// One active session, without its secret or token.
#[derive(Debug, Serialize)]
pub(super) struct ActiveSession {
    pub(super) access_key_id: String,
    pub(super) role_arn: String,
    pub(super) arn: Option<String>,
    pub(super) session_name: Option<String>,
    pub(super) source_identity: Option<String>,
    pub(super) owner: String,
    pub(super) issued_at: String,
    pub(super) expires_at: String,
}

/// The unexpired, unrevoked sessions of `role_arn`, or of `owner` (`idp/subject`), or of
/// both, oldest first.
pub(super) async fn active_sessions(
    state: &AppState,
    role_arn: Option<&str>,
    owner: Option<&str>,
) -> Result<Vec<ActiveSession>, Error> {
    let records = match (role_arn, owner) {
        (Some(role), _) => state.stores.role_sessions.list_for_role(role).await?,
        (None, Some(owner)) => state.stores.role_sessions.list_for_owner(owner).await?,
        (None, None) => return Ok(Vec::new()),
    };
    let mut active = Vec::with_capacity(records.len());
    for record in records {
        if owner.is_some_and(|o| record.owner != o) {
            continue;
        }
        let revoked = state
            .stores
            .revocations
            .is_revoked(SessionFacts {
                id: &record.id,
                owner: &record.owner,
                role_arn: &record.role_arn,
                issued_at: record.issued_at,
            })
            .await?;
        if revoked {
            continue;
        }
        let stored: Option<StoredSession> = serde_json::from_value(record.payload).ok();
        active.push(ActiveSession {
            access_key_id: record.id,
            role_arn: record.role_arn,
            arn: stored.as_ref().map(|s| s.arn.clone()),
            session_name: stored.as_ref().map(|s| s.session_name.clone()),
            source_identity: stored.and_then(|s| s.source_identity),
            owner: record.owner,
            issued_at: iso(record.issued_at),
            expires_at: iso(record.expires_at),
        });
    }
    Ok(active)
}

fn iso(unix: u64) -> String {
    crate::policy::iso8601(UNIX_EPOCH + Duration::from_secs(unix))
}

fn parse_rfc3339(text: &str) -> Option<u64> {
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(unix_seconds(SystemTime::from(at)))
}
