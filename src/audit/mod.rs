//! Audit events in CloudTrail's record shape, one JSON line each, to a file (appended and
//! flushed per event) or standard output: every sign-in, assume (allowed or denied, with
//! the deciding trust statement), SigV4 failure and revocation.
//!
//! Knows nothing of HTTP. Events are built from plain values; no secret, token or signature
//! is ever a field of one.

use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;

/// CloudTrail's record version that the shape follows.
const EVENT_VERSION: &str = "1.08";

/// Who made the request, in CloudTrail's `userIdentity` shape.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `WebIdentityUser`, `AssumedRole`, `SAMLUser`, `Unknown`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The principal: the assumed-role ARN, or `idp:subject` for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// The session or role ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The access key id the request was signed with (never the secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The identity provider a person came through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
    /// The person's name at that provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

/// One audit record.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    event_version: &'static str,
    /// When (ISO 8601, UTC).
    pub event_time: String,
    /// `sts.amazonaws.com` for the STS API, `signin.rolegate`, or `rolegate`.
    pub event_source: &'static str,
    /// `AssumeRoleWithWebIdentity`, `SignIn`, `RevokeSessions`…
    pub event_name: &'static str,
    /// The region the client signed for, else `us-east-1`.
    pub aws_region: String,
    /// The client's address.
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    /// The client's `User-Agent`.
    pub user_agent: String,
    /// Who.
    pub user_identity: UserIdentity,
    /// What was asked, without secrets.
    pub request_parameters: Value,
    /// What was answered, without secrets; `null` on failure.
    pub response_elements: Value,
    /// AWS's error code, on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The error's public message, on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The request id (as in the response).
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// This event's unique id.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// `AwsApiCall` or `AwsConsoleSignIn`.
    pub event_type: &'static str,
}

/// Where the request came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The client's address.
    pub source_ip: String,
    /// Its `User-Agent`.
    pub user_agent: String,
    /// The request id.
    pub request_id: String,
}

impl AuditEvent {
    /// An event named `name` from `source`, at `now`, for a request from `origin`.
    pub fn new(
        (source, name): (&'static str, &'static str),
        now: SystemTime,
        origin: &Origin,
        user_identity: UserIdentity,
    ) -> Self {
        Self {
            event_version: EVENT_VERSION,
            event_time: crate::policy::iso8601(now),
            event_source: source,
            event_name: name,
            aws_region: "us-east-1".to_owned(),
            source_ip_address: origin.source_ip.clone(),
            user_agent: origin.user_agent.clone(),
            user_identity,
            request_parameters: Value::Null,
            response_elements: Value::Null,
            error_code: None,
            error_message: None,
            request_id: origin.request_id.clone(),
            event_id: uuid::Uuid::new_v4().to_string(),
            event_type: if source == "signin.rolegate" {
                "AwsConsoleSignIn"
            } else {
                "AwsApiCall"
            },
        }
    }

    /// The event with its request parameters.
    pub fn request(mut self, parameters: Value) -> Self {
        self.request_parameters = parameters;
        self
    }

    /// The event with its response elements.
    pub fn response(mut self, elements: Value) -> Self {
        self.response_elements = elements;
        self
    }

    /// The event as a failure.
    pub fn error(mut self, code: &str, message: &str) -> Self {
        self.error_code = Some(code.to_owned());
        self.error_message = Some(message.to_owned());
        self
    }

    /// The event with the region the client signed for.
    pub fn region(mut self, region: &str) -> Self {
        region.clone_into(&mut self.aws_region);
        self
    }
}

/// Where audit events go.
pub trait AuditSink: Send + Sync + std::fmt::Debug {
    /// Writes one event. A sink that fails says so in the log; the request goes on.
    fn record(&self, event: &AuditEvent);
}

/// One JSON line per event, appended to a file and flushed.
#[derive(Debug)]
pub struct FileSink(Mutex<std::fs::File>);

impl FileSink {
    /// Opens `path` for appending, creating it.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self(Mutex::new(file)))
    }
}

impl AuditSink for FileSink {
    fn record(&self, event: &AuditEvent) {
        let Ok(mut line) = serde_json::to_vec(event) else {
            return;
        };
        line.push(b'\n');
        let mut file = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(error) = file.write_all(&line).and_then(|()| file.flush()) {
            tracing::error!(%error, "cannot write the audit log");
        }
    }
}

/// One JSON line per event on standard output.
#[derive(Debug)]
pub struct StdoutSink;

impl AuditSink for StdoutSink {
    fn record(&self, event: &AuditEvent) {
        if let Ok(line) = serde_json::to_string(event) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}
