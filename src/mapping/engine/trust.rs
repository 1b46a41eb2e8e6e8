//! Trust-policy evaluation for candidates, over condition-key contexts built once per
//! evaluation.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Candidate, MappingInput};
use crate::directory::{Directory, Role};
use crate::idp::Protocol;
use crate::policy::{
    AssumeAction, GlobalKeys, Principal, RequestContext, TrustRequest, add_claims_where,
    evaluate_trust,
};

/// A person's claims as condition keys, built once per key prefix (`saml`, or the OIDC
/// provider's host) during one evaluation and shared, as a context base, by every candidate;
/// over them, the keys shared by every candidate of one provider and session name.
pub(super) struct ClaimContexts<'a> {
    input: &'a MappingInput<'a>,
    directory: &'a Directory,
    built: HashMap<String, Arc<RequestContext>>,
    /// By (provider, session name): one provider per account, so a person offered roles in
    /// a thousand accounts has a thousand of them.
    sessions: HashMap<(String, String), Arc<RequestContext>>,
}

impl<'a> ClaimContexts<'a> {
    pub(super) fn new(input: &'a MappingInput<'a>, directory: &'a Directory) -> Self {
        Self {
            input,
            directory,
            built: HashMap::new(),
            sessions: HashMap::new(),
        }
    }

    /// The claims as seen through `provider`, plus `aws:FederatedProvider` and
    /// `sts:RoleSessionName`.
    fn for_session(&mut self, provider: &str, session_name: &str) -> Arc<RequestContext> {
        let key = (provider.to_owned(), session_name.to_owned());
        if let Some(built) = self.sessions.get(&key) {
            return built.clone();
        }
        let mut context = RequestContext::over(self.for_provider(provider));
        GlobalKeys {
            federated_provider: Some(provider),
            ..GlobalKeys::default()
        }
        .apply(&mut context);
        context.insert_one("sts:RoleSessionName", session_name.to_owned());
        let context = Arc::new(context);
        self.sessions.insert(key, context.clone());
        context
    }

    /// The claims as seen through `provider`: `saml:*` for SAML, `<provider host>:*` for OIDC.
    fn for_provider(&mut self, provider: &str) -> Arc<RequestContext> {
        let identity = self.input.identity;
        let prefix = match identity.protocol {
            Protocol::Saml => "saml",
            Protocol::Oidc => provider
                .split_once("oidc-provider/")
                .map_or(provider, |(_, host)| host),
        };
        // SAML keys differ by provider (`saml:namequalifier` names its account).
        let cache_key = match identity.protocol {
            Protocol::Saml => provider,
            Protocol::Oidc => prefix,
        };
        if let Some(built) = self.built.get(cache_key) {
            return built.clone();
        }
        let mut context = RequestContext::default();
        GlobalKeys {
            now: Some(self.input.now),
            ..GlobalKeys::default()
        }
        .apply(&mut context);
        // Only keys some trust policy reads can change a trust decision; copying the rest
        // (a 500-group list, say) for every evaluation would dominate its cost.
        let directory = self.directory;
        add_claims_where(&mut context, prefix, &identity.claims, |key| {
            directory.trust_reads(key)
        });
        if identity.protocol == Protocol::Saml {
            context.insert_one("saml:sub", identity.subject.clone());
            context.insert_one("saml:iss", identity.issuer.clone());
            if let Some(qualifier) = crate::idp::saml::name_qualifier(&identity.issuer, provider) {
                context.insert_one("saml:namequalifier", qualifier);
            }
        }
        let context = Arc::new(context);
        self.built.insert(cache_key.to_owned(), context.clone());
        context
    }
}

pub(super) fn trust(
    role: &Role,
    provider: &str,
    claims: &mut ClaimContexts<'_>,
    candidate: &Candidate,
    session_name: &str,
) -> crate::policy::TrustDecision {
    let mut context = RequestContext::over(claims.for_session(provider, session_name));
    GlobalKeys {
        request_tags: (!candidate.session_tags.is_empty()).then_some(&candidate.session_tags),
        source_identity: candidate.source_identity.as_deref(),
        ..GlobalKeys::default()
    }
    .apply(&mut context);
    let action = match claims.input.identity.protocol {
        Protocol::Saml => AssumeAction::AssumeRoleWithSaml,
        Protocol::Oidc => AssumeAction::AssumeRoleWithWebIdentity,
    };
    if !candidate.transitive_tag_keys.is_empty() {
        context.insert(
            "sts:TransitiveTagKeys",
            candidate.transitive_tag_keys.clone(),
        );
    }
    if let Some(source) = &candidate.source_identity {
        context.insert_one("sts:SourceIdentity", source.clone());
    }
    let principal = Principal::Federated {
        provider: provider.to_owned(),
    };
    evaluate_trust(
        &role.trust_policy,
        &TrustRequest {
            role_arn: &role.arn,
            action,
            principal: &principal,
            context: &context,
            tags_session: !candidate.session_tags.is_empty(),
            sets_source_identity: candidate.source_identity.is_some(),
        },
    )
}
