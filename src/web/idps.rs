//! The configured identity providers, whatever protocol each speaks.

use std::sync::Arc;

use crate::config::{IdpName, Logo};
use crate::idp::oidc::OidcProvider;
use crate::idp::saml::{SamlProvider, ServiceProvider};

/// One configured identity provider.
#[derive(Debug)]
pub enum Provider {
    /// An OpenID Provider.
    Oidc(OidcProvider),
    /// A SAML identity provider.
    Saml(SamlProvider),
}

impl Provider {
    /// The configured name.
    pub fn name(&self) -> &IdpName {
        match self {
            Provider::Oidc(p) => p.name(),
            Provider::Saml(p) => p.name(),
        }
    }

    /// What the sign-in page shows.
    pub fn display_name(&self) -> &str {
        match self {
            Provider::Oidc(p) => p.display_name(),
            Provider::Saml(p) => p.display_name(),
        }
    }

    /// The logo the sign-in page shows, if configured.
    pub fn logo(&self) -> Option<&Logo> {
        match self {
            Provider::Oidc(p) => p.logo(),
            Provider::Saml(p) => p.logo(),
        }
    }

    /// The protocol, as the sign-in page names it.
    pub fn protocol_label(&self) -> &'static str {
        match self {
            Provider::Oidc(_) => "OpenID Connect",
            Provider::Saml(_) => "SAML 2.0",
        }
    }

    /// Whether the roles the provider asserts (AWS's SAML `Role` attribute) count.
    pub fn honours_idp_roles(&self) -> bool {
        match self {
            Provider::Oidc(_) => false,
            Provider::Saml(p) => p.settings().honour_idp_roles,
        }
    }
}

/// The configured identity providers, in configuration order, and rolegate's own SAML
/// service-provider identity when any provider speaks SAML.
#[derive(Debug, Default)]
pub struct IdpRegistry {
    providers: Vec<Provider>,
    service_provider: Option<Arc<ServiceProvider>>,
}

impl IdpRegistry {
    /// A registry of `providers`; `service_provider` is rolegate's SAML identity.
    pub fn new(providers: Vec<Provider>, service_provider: Option<Arc<ServiceProvider>>) -> Self {
        Self {
            providers,
            service_provider,
        }
    }

    /// The provider named `name`.
    pub fn get(&self, name: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.name().as_str() == name)
    }

    /// The SAML provider named `name`.
    pub fn saml(&self, name: &str) -> Option<&SamlProvider> {
        match self.get(name) {
            Some(Provider::Saml(p)) => Some(p),
            _ => None,
        }
    }

    /// Every SAML provider.
    pub fn saml_providers(&self) -> impl Iterator<Item = &SamlProvider> {
        self.providers.iter().filter_map(|p| match p {
            Provider::Saml(p) => Some(p),
            Provider::Oidc(_) => None,
        })
    }

    /// Every OpenID provider.
    pub fn oidc_providers(&self) -> impl Iterator<Item = &OidcProvider> {
        self.providers.iter().filter_map(|p| match p {
            Provider::Oidc(p) => Some(p),
            Provider::Saml(_) => None,
        })
    }

    /// Whether the provider named `name` has its asserted roles honoured.
    pub fn honours_idp_roles(&self, name: &str) -> bool {
        self.get(name).is_some_and(Provider::honours_idp_roles)
    }

    /// rolegate's SAML service-provider identity, when a SAML provider is configured.
    pub fn service_provider(&self) -> Option<&ServiceProvider> {
        self.service_provider.as_deref()
    }

    /// Every provider, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.providers.iter()
    }
}
