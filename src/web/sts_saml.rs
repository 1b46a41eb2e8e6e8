//! `AssumeRoleWithSAML`: the assertion is verified as at the ACS (bar `InResponseTo`) by
//! the SAML provider the `PrincipalArn` names, consumed once, must list the role with that
//! provider in AWS's `Role` attribute, and the one assume path decides with `saml:*` keys.

use std::collections::BTreeMap;

use super::AppState;
use super::role_sessions::record;
use super::saml::consume_assertion_once;
use super::sts::{issue, request_parameters, response_elements};
use super::trail::Trail;
use crate::audit::UserIdentity;
use crate::idp::saml::{SamlProvider, VerifiedAssertion, decode_message, name_qualifier};
use crate::idp::{Identity, SignInError};
use crate::sts::api::{SamlFacts, assume_role_with_saml_xml};
use crate::sts::{AssumeRequest, Caller, StsError, StsErrorCode};

/// AWS's SAML attributes the session is shaped by.
const SESSION_NAME: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const PRINCIPAL_TAG: &str = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:";
const TRANSITIVE_TAG_KEYS: &str = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys";
const SOURCE_IDENTITY: &str = "https://aws.amazon.com/SAML/Attributes/SourceIdentity";

/// Answers `AssumeRoleWithSAML`.
pub(super) async fn assume_role_with_saml(
    state: &AppState,
    encoded: &str,
    principal_arn: &str,
    request: &AssumeRequest,
    request_id: &str,
    trail: &mut Trail,
) -> Result<String, StsError> {
    audit_request(trail, request, principal_arn);
    let provider = provider_named_by(state, principal_arn)?;
    trail.identity = UserIdentity {
        kind: "SAMLUser",
        identity_provider: Some(principal_arn.to_owned()),
        ..UserIdentity::default()
    };
    let xml = decode_message(encoded).map_err(saml_error)?;
    let assertion = provider.verify(&xml).await.map_err(saml_error)?;
    consume_assertion_once(state, &assertion)
        .await
        .map_err(|e| StsError::new(StsErrorCode::InvalidIdentityToken, e.public_message()))?;
    let identity = provider.identity(&assertion).map_err(saml_error)?;
    trail.identity.user_name = Some(identity.subject.clone());
    trail.identity.principal_id = Some(format!("{}:{}", identity.issuer, identity.subject));
    check_same_account(&request.role_arn, principal_arn)?;
    check_role_is_asserted(&identity, &request.role_arn, principal_arn)?;
    let shaped = shaped_request(request, &assertion, &identity, state.clock.unix_seconds())?;
    audit_request(trail, &shaped, principal_arn);
    let session = issue(state, Caller::Federated(&identity), &shaped).await?;
    record(state, &session, &identity).await?;
    trail.response = response_elements(&session);
    let sub_type = identity
        .claims
        .get("sub_type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let qualifier = name_qualifier(&identity.issuer, principal_arn).unwrap_or_default();
    let facts = SamlFacts {
        subject: &identity.subject,
        subject_type: sub_type,
        issuer: &identity.issuer,
        audience: &provider.service_provider().acs_url,
        name_qualifier: &qualifier,
    };
    Ok(assume_role_with_saml_xml(&session, &facts, request_id))
}

/// The call's parameters for the audit log, with the session as the assertion shapes it.
fn audit_request(trail: &mut Trail, request: &AssumeRequest, principal_arn: &str) {
    trail.request = request_parameters(request);
    if let Some(parameters) = trail.request.as_object_mut() {
        parameters.insert("principalArn".into(), principal_arn.into());
    }
}

/// The SAML provider `principal_arn` names: an `identity_providers` entry of its account.
fn provider_named_by<'a>(
    state: &'a AppState,
    principal_arn: &str,
) -> Result<&'a SamlProvider, StsError> {
    let unknown = || {
        StsError::new(
            StsErrorCode::InvalidIdentityToken,
            format!("{principal_arn} is not a SAML provider of its account"),
        )
    };
    let account = principal_arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(":saml-provider/"))
        .map(|(account, _)| account)
        .ok_or_else(unknown)?;
    let mappings = state.mappings.current();
    let idp = mappings
        .directory
        .account(account)
        .filter(|a| a.id.as_str() == account)
        .and_then(|a| {
            a.identity_providers
                .iter()
                .find(|(_, linked)| linked.arn == principal_arn)
                .map(|(idp, _)| idp.clone())
        })
        .ok_or_else(unknown)?;
    state.idps.saml(&idp).ok_or_else(unknown)
}

/// The SAML provider must be the role's account's own (the trust policy names it there).
fn check_same_account(role_arn: &str, principal_arn: &str) -> Result<(), StsError> {
    let account = |arn: &str| arn.split(':').nth(4).map(str::to_owned);
    if account(role_arn).is_some() && account(role_arn) == account(principal_arn) {
        Ok(())
    } else {
        Err(StsError::new(
            StsErrorCode::AccessDenied,
            format!(
                "Not authorized to perform sts:AssumeRoleWithSAML: {principal_arn} is not a \
                 provider of the account of {role_arn}"
            ),
        ))
    }
}

/// AWS requires the role, paired with the provider, among the assertion's `Role` values.
fn check_role_is_asserted(
    identity: &Identity,
    role_arn: &str,
    principal_arn: &str,
) -> Result<(), StsError> {
    let values = identity.claim_strings(crate::mapping::SAML_ROLE_ATTRIBUTE);
    let listed = values.iter().any(|value| {
        let mut pair: Vec<&str> = value.split(',').map(str::trim).collect();
        pair.sort_unstable();
        let mut wanted = [role_arn, principal_arn];
        wanted.sort_unstable();
        pair == wanted
    });
    if listed {
        Ok(())
    } else {
        Err(StsError::new(
            StsErrorCode::AccessDenied,
            format!(
                "Not authorized to perform sts:AssumeRoleWithSAML: the assertion's Role \
                 attribute does not list {role_arn} with {principal_arn}"
            ),
        ))
    }
}

/// The session the caller asked for, shaped by the assertion: its `RoleSessionName`
/// (required, as at AWS), tags, transitive keys and source identity; at most until the
/// provider's `SessionNotOnOrAfter`.
fn shaped_request(
    request: &AssumeRequest,
    assertion: &VerifiedAssertion,
    identity: &Identity,
    now: u64,
) -> Result<AssumeRequest, StsError> {
    let session_name = identity
        .claim_strings(SESSION_NAME)
        .into_iter()
        .next()
        .ok_or_else(|| {
            StsError::new(
                StsErrorCode::InvalidIdentityToken,
                format!("The assertion has no {SESSION_NAME} attribute"),
            )
        })?;
    let tags: BTreeMap<String, String> = assertion
        .attributes
        .iter()
        .filter_map(|a| {
            let key = a.name.strip_prefix(PRINCIPAL_TAG)?;
            Some((key.to_owned(), a.values.first()?.clone()))
        })
        .collect();
    let requested = request
        .duration_seconds
        .unwrap_or(crate::sts::DEFAULT_DURATION);
    let duration = match assertion.session_not_on_or_after {
        Some(end) => {
            let left = u64::try_from(end).unwrap_or(0).saturating_sub(now);
            requested.min(left)
        }
        None => requested,
    };
    Ok(AssumeRequest {
        role_session_name: session_name,
        duration_seconds: Some(duration),
        tags: tags.into_iter().collect(),
        transitive_tag_keys: identity.claim_strings(TRANSITIVE_TAG_KEYS),
        source_identity: identity.claim_strings(SOURCE_IDENTITY).into_iter().next(),
        ..request.clone()
    })
}

/// AWS's codes for an assertion the provider's keys and rules refuse.
fn saml_error(error: SignInError) -> StsError {
    let detail = error.to_string();
    match error {
        SignInError::Discovery(_) => StsError::with_detail(
            StsErrorCode::IdpCommunicationError,
            "The SAML provider's metadata could not be loaded",
            detail,
        ),
        SignInError::NotAllowed(_) => StsError::with_detail(
            StsErrorCode::IdpRejectedClaim,
            "The SAML provider's assertion was rejected",
            detail,
        ),
        SignInError::Saml(crate::idp::saml::SamlError::Refused(reason))
            if reason.contains("expired") =>
        {
            StsError::with_detail(
                StsErrorCode::ExpiredTokenException,
                "Token expired: the SAML assertion is past its NotOnOrAfter",
                detail,
            )
        }
        _ => StsError::with_detail(
            StsErrorCode::InvalidIdentityToken,
            "The SAML assertion could not be verified",
            detail,
        ),
    }
}
