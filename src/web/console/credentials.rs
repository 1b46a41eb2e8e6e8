//! `GET /credentials/{id}`: one role session's temporary credentials, ready to paste into a
//! shell, the AWS config files or an SDK, with the endpoint setting that points SDKs at
//! rolegate's STS. The secret is only ever in this page's body: never in a URL, a log or the
//! audit trail, and the page is `Cache-Control: no-store`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use secrecy::ExposeSecret;

use super::super::session::SignedIn;
use super::super::{AppState, Error};
use super::open::live;

/// One ready-to-paste form of the credentials.
struct Snippet {
    /// An id for the copy button to find it.
    id: &'static str,
    title: &'static str,
    text: String,
}

#[derive(Template)]
#[template(path = "credentials.html")]
struct CredentialsPage {
    id: String,
    label: String,
    colour: String,
    expires_at: String,
    expires_unix: u64,
    minutes_left: u64,
    snippets: Vec<Snippet>,
}

/// The page, never cached.
pub(super) async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let session = live(&state, &signed_in.session, &id).await?;
    let claims = &session.claims;
    let credentials = &session.credentials;
    let mappings = state.mappings.current();
    let (label, colour, profile) = match mappings.directory.role_by_arn(&claims.role) {
        Some((account, role)) => (
            format!("{} @ {}", role.name, account.alias),
            account.colour.clone(),
            format!("{}-{}", account.alias, role.name),
        ),
        None => (claims.role.clone(), String::new(), "rolegate".to_owned()),
    };
    let values = Values {
        access_key_id: credentials.access_key_id.as_str(),
        secret: credentials.secret_access_key.expose_secret(),
        token: &credentials.session_token,
        endpoint: &format!("{}/sts", state.public_url.origin()),
        profile: &profile,
        role_arn: &claims.role,
    };
    let page = CredentialsPage {
        id: claims.akid.clone(),
        label,
        colour,
        expires_at: crate::policy::iso8601(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(claims.exp),
        ),
        expires_unix: claims.exp,
        minutes_left: claims
            .exp
            .saturating_sub(state.clock.unix_seconds())
            .div_ceil(60),
        snippets: values.snippets(),
    };
    let mut response = Html(page.render()?).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// What the snippets are made of.
struct Values<'a> {
    access_key_id: &'a str,
    secret: &'a str,
    token: &'a str,
    endpoint: &'a str,
    profile: &'a str,
    role_arn: &'a str,
}

impl Values<'_> {
    fn snippets(&self) -> Vec<Snippet> {
        let Values {
            access_key_id: key,
            secret,
            token,
            endpoint,
            profile,
            role_arn,
        } = self;
        vec![
            Snippet {
                id: "bash",
                title: "bash or zsh",
                text: format!(
                    "export AWS_ACCESS_KEY_ID=\"{key}\"\nexport AWS_SECRET_ACCESS_KEY=\"{secret}\"\nexport AWS_SESSION_TOKEN=\"{token}\"\nexport AWS_ENDPOINT_URL_STS=\"{endpoint}\""
                ),
            },
            Snippet {
                id: "fish",
                title: "fish",
                text: format!(
                    "set -x AWS_ACCESS_KEY_ID \"{key}\"\nset -x AWS_SECRET_ACCESS_KEY \"{secret}\"\nset -x AWS_SESSION_TOKEN \"{token}\"\nset -x AWS_ENDPOINT_URL_STS \"{endpoint}\""
                ),
            },
            Snippet {
                id: "powershell",
                title: "PowerShell",
                text: format!(
                    "$Env:AWS_ACCESS_KEY_ID=\"{key}\"\n$Env:AWS_SECRET_ACCESS_KEY=\"{secret}\"\n$Env:AWS_SESSION_TOKEN=\"{token}\"\n$Env:AWS_ENDPOINT_URL_STS=\"{endpoint}\""
                ),
            },
            Snippet {
                id: "cmd",
                title: "Windows cmd",
                text: format!(
                    "set AWS_ACCESS_KEY_ID={key}\nset AWS_SECRET_ACCESS_KEY={secret}\nset AWS_SESSION_TOKEN={token}\nset AWS_ENDPOINT_URL_STS={endpoint}"
                ),
            },
            Snippet {
                id: "credentials-file",
                title: "~/.aws/credentials",
                text: format!(
                    "[{profile}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\naws_session_token = {token}"
                ),
            },
            Snippet {
                id: "config-file",
                title: "~/.aws/config (credentials that renew themselves)",
                text: format!(
                    "# `rolegate credentials` comes with rolegate's command-line sign-in.\n[profile {profile}]\ncredential_process = rolegate credentials --role-arn {role_arn}\nservices = rolegate\n\n[services rolegate]\nsts =\n  endpoint_url = {endpoint}"
                ),
            },
        ]
    }
}
