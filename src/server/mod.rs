//! Building the application from configuration, binding, serving and shutting down.

mod connections;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::audit::{AuditSink, FileSink, StdoutSink};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, IdpProtocol, PublicUrl, StoreSpec};
use crate::idp::demo::{self, DemoProvider};
use crate::idp::oidc::OidcProvider;
use crate::idp::saml::{SamlProvider, ServiceProvider};
use crate::mapping::{Mappings, MappingsHandle, POLL_INTERVAL};
use crate::store::Stores;
use crate::sts::SessionKeys;
use crate::web::{self, AppState, CpuPool, IdpRegistry, Provider, RecentSignIns};
use secrecy::ExposeSecret;

/// A bound, ready-to-serve rolegate.
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    /// Binds `config.listen` and builds the application for `rolegate serve`.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let listener = bind(config.listen).await?;
        Self::start_on(listener, config).await
    }

    /// Builds the application for `config` on a socket already bound (its `listen` is not
    /// bound again), as when the public URL names a port picked beforehand.
    pub async fn start_on(listener: TcpListener, config: Config) -> anyhow::Result<Self> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let stores = Stores::open(&config.store, clock.clone())
            .await
            .with_context(|| format!("opening the store `{}`", config.store.describe()))?;
        let mappings = MappingsHandle::load(&config.directory, &config.mappings, clock.clone())
            .map_err(|problems| anyhow::anyhow!(problems.join("\n")))?;
        let mappings = Arc::new(mappings);
        mappings.clone().spawn_watcher(POLL_INTERVAL);
        let state = build_state(&config, stores, None, clock, mappings)?;
        // Metadata from a URL is fetched now, so that a provider that cannot be reached
        // shows in the log at start (it is fetched again at first use).
        for provider in state.idps.saml_providers() {
            if let Err(error) = provider.metadata().await {
                tracing::warn!(idp = %provider.name(), %error, "SAML metadata not loaded at start");
            }
        }
        Ok(Self { listener, state })
    }

    /// Binds `listen` and builds the demo: memory stores and the built-in provider. When
    /// `public_url` is not given it is `http://` plus the bound address.
    pub async fn start_demo(
        listen: SocketAddr,
        public_url: Option<PublicUrl>,
    ) -> anyhow::Result<Self> {
        let listener = bind(listen).await?;
        let bound = listener.local_addr()?;
        let public_url = match public_url {
            Some(url) => url,
            None => PublicUrl::parse(&format!("http://{bound}")).map_err(anyhow::Error::msg)?,
        };
        let state = demo_state(bound, public_url, Arc::new(SystemClock))?;
        Ok(Self { listener, state })
    }

    /// [`Server::start_demo`] on the loopback with `mappings` instead of the sample ones
    /// (for benchmarks: the demo provider with a large directory).
    pub async fn start_demo_with(mappings: Mappings) -> anyhow::Result<Self> {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let bound = listener.local_addr()?;
        let public_url =
            PublicUrl::parse(&format!("http://{bound}")).map_err(anyhow::Error::msg)?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let state = demo_state_on(bound, public_url, clock, mappings)?;
        Ok(Self { listener, state })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The public origin the server announces.
    pub fn public_url(&self) -> &PublicUrl {
        &self.state.public_url
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let limits = self.state.limits;
        connections::serve(self.listener, web::app(self.state), limits, shutdown).await
    }
}

/// The demo's application state on `clock`: memory stores, the built-in provider, the
/// sample mappings. Tests drive it through [`web::app`] with a manual clock.
pub fn demo_state(
    bound: SocketAddr,
    public_url: PublicUrl,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<AppState> {
    let mappings = Mappings::sample().map_err(|problems| anyhow::anyhow!(problems.join("\n")))?;
    demo_state_on(bound, public_url, clock, mappings)
}

/// The demo's state with `mappings`.
fn demo_state_on(
    bound: SocketAddr,
    public_url: PublicUrl,
    clock: Arc<dyn Clock>,
    mappings: Mappings,
) -> anyhow::Result<AppState> {
    let stores = Stores::memory(clock.clone());
    let provider = DemoProvider::new(&public_url, stores.one_time.clone(), clock.clone())
        .context("starting the demo identity provider")?;
    let saml = provider
        .saml
        .idp_config()
        .map_err(|e| anyhow::anyhow!("the demo's SAML provider: {e}"))?;
    let config = demo::config(bound, public_url, vec![provider.idp_config(), saml]);
    let mappings = Arc::new(MappingsHandle::fixed(mappings, clock.clone()));
    build_state(&config, stores, Some(Arc::new(provider)), clock, mappings)
}

async fn bind(listen: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))
}

fn build_state(
    config: &Config,
    stores: Stores,
    demo: Option<Arc<DemoProvider>>,
    clock: Arc<dyn Clock>,
    mappings: Arc<MappingsHandle>,
) -> anyhow::Result<AppState> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.limits.idp_timeout)
        .build()
        .context("building the HTTP client")?;
    let service_provider = service_provider(config, demo.is_some())?;
    let mut providers = Vec::new();
    for idp in &config.idps {
        match &idp.protocol {
            IdpProtocol::Oidc(settings) => {
                let callback = config
                    .public_url
                    .join(&format!("/auth/oidc/{}/callback", idp.name));
                providers.push(Provider::Oidc(OidcProvider::new(
                    idp,
                    settings.clone(),
                    &callback,
                    (http.clone(), config.limits.idp_timeout),
                    clock.clone(),
                )?));
            }
            IdpProtocol::Saml(settings) => {
                let sp = service_provider
                    .clone()
                    .context("a SAML provider needs the service provider's key")?;
                let provider =
                    SamlProvider::new(idp, settings.clone(), sp, http.clone(), clock.clone())
                        .map_err(|reason| anyhow::anyhow!("idp `{}`: {reason}", idp.name))?;
                providers.push(Provider::Saml(provider));
            }
        }
    }
    Ok(AppState {
        clock,
        stores,
        idps: Arc::new(IdpRegistry::new(providers, service_provider)),
        demo,
        public_url: config.public_url.clone(),
        mappings,
        admin: Arc::new(config.admin.clone()),
        recent: Arc::new(RecentSignIns::default()),
        cpu: CpuPool::for_this_machine(),
        session_keys: Arc::new(session_keys(config)?),
        audit: audit_sink(config)?,
        limits: config.limits,
        session_cookie: config.session_cookie,
        straight_to_single_idp: config.straight_to_single_idp,
    })
}

/// rolegate's SAML service-provider identity, when a SAML provider is configured: from
/// `[keys] saml_sp_key_file` and `saml_sp_cert_file` (the demo makes one).
fn service_provider(config: &Config, demo: bool) -> anyhow::Result<Option<Arc<ServiceProvider>>> {
    if !config
        .idps
        .iter()
        .any(|idp| matches!(idp.protocol, IdpProtocol::Saml(_)))
    {
        return Ok(None);
    }
    let sp = match (&config.keys.saml_sp_key, &config.keys.saml_sp_cert) {
        (Some(key), Some(cert)) => {
            ServiceProvider::from_pem(&config.public_url, key.expose_secret(), cert)
        }
        _ if demo => ServiceProvider::generate(&config.public_url),
        _ => Err(
            "a SAML [[idp]] needs keys.saml_sp_key_file and keys.saml_sp_cert_file: \
                  the service provider signs its requests and publishes its certificate"
                .into(),
        ),
    }
    .map_err(|reason| anyhow::anyhow!(reason))?;
    Ok(Some(Arc::new(sp)))
}

/// The role-session keys from `[keys] session_signing_key_file`; without one, a key made
/// now (sessions then end with the process), which several instances cannot share.
fn session_keys(config: &Config) -> anyhow::Result<SessionKeys> {
    match &config.keys.session_signing_key {
        Some(pem) => {
            SessionKeys::from_pem(pem.expose_secret()).context("keys.session_signing_key_file")
        }
        None if matches!(config.store, StoreSpec::Memory) => {
            tracing::warn!(
                "no keys.session_signing_key_file: role sessions are signed with a key made \
                 now and end when this process stops"
            );
            SessionKeys::generate().context("making a session signing key")
        }
        None => anyhow::bail!(
            "keys.session_signing_key_file is required with a shared store: every instance \
             must sign and verify role sessions with the same key"
        ),
    }
}

/// The audit log: `[audit] file`, else standard output.
fn audit_sink(config: &Config) -> anyhow::Result<Arc<dyn AuditSink>> {
    Ok(match &config.audit_file {
        Some(path) => Arc::new(
            FileSink::open(path)
                .with_context(|| format!("opening the audit log `{}`", path.display()))?,
        ),
        None => Arc::new(StdoutSink),
    })
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
