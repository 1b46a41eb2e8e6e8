//! A small OpenID Provider for tests, on a free loopback port: discovery, JWKS, an authorize
//! endpoint that approves at once, a token endpoint whose ID token the test mints (so it can
//! be wrong in exactly one way), and userinfo. Keys are Ed25519, signed with jsonwebtoken.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use jsonwebtoken::{Algorithm, EncodingKey};
use rolegate::clock::{Clock, SystemClock};
use serde_json::{Value, json};
use sha2::Digest as _;
use tokio::sync::oneshot;

/// The client rolegate is registered as.
pub(crate) const CLIENT_ID: &str = "rolegate-test";
/// Its secret.
pub(crate) const CLIENT_SECRET: &str = "test-client-secret";
/// The access token every token response carries.
pub(crate) const ACCESS_TOKEN: &str = "test-access-token-0123456789";

/// One signing key of the provider, its algorithm and its id.
#[derive(Clone)]
pub(crate) struct TestKey {
    pub(crate) kid: String,
    algorithm: Algorithm,
    /// The private key, PKCS#8 PEM.
    pem: String,
    /// The public JWK, without `kid`, `alg` and `use`.
    public_jwk: Value,
    /// Bytes of the public key, as an attacker would use them for an HMAC "signature".
    public_bytes: Vec<u8>,
}

impl TestKey {
    /// A fresh Ed25519 key (EdDSA).
    pub(crate) fn new(kid: &str) -> Self {
        let signing = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let public = signing.verifying_key().as_bytes().to_vec();
        Self {
            kid: kid.to_owned(),
            algorithm: Algorithm::EdDSA,
            pem: signing.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            public_jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(&public)}),
            public_bytes: public,
        }
    }

    /// The fixture RSA key (for RS256 or PS256) or EC P-256 key (ES256).
    pub(crate) fn fixture(kid: &str, algorithm: Algorithm) -> Self {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/oidc");
        let (file, jwk) = match algorithm {
            Algorithm::RS256 | Algorithm::PS256 => ("idp-rsa.pem", "rsa"),
            Algorithm::ES256 => ("idp-es256.pem", "es256"),
            other => panic!("no fixture key for {other:?}"),
        };
        let jwks: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{folder}/idp-public-jwks.json")).unwrap(),
        )
        .unwrap();
        let public_jwk = jwks[jwk].clone();
        Self {
            kid: kid.to_owned(),
            algorithm,
            pem: std::fs::read_to_string(format!("{folder}/{file}")).unwrap(),
            public_bytes: public_jwk.to_string().into_bytes(),
            public_jwk,
        }
    }

    /// The public JWK as the JWKS publishes it.
    pub(crate) fn jwk(&self) -> Value {
        let mut jwk = self.public_jwk.clone();
        jwk["kid"] = self.kid.clone().into();
        jwk["use"] = "sig".into();
        jwk["alg"] = serde_json::to_value(self.algorithm).unwrap();
        jwk
    }

    /// The public key as bytes, as an attacker would use it for an HMAC "signature".
    pub(crate) fn public_bytes(&self) -> Vec<u8> {
        self.public_bytes.clone()
    }

    /// `claims` signed under `kid` (which may differ from the key's own).
    pub(crate) fn sign_as(&self, kid: &str, claims: &Value) -> String {
        self.sign_with_header(claims, |header| header.kid = Some(kid.to_owned()))
    }

    /// `claims` signed under this key's `kid`, with `change` made to the JOSE header.
    pub(crate) fn sign_with_header(
        &self,
        claims: &Value,
        change: impl FnOnce(&mut jsonwebtoken::Header),
    ) -> String {
        let pem = self.pem.as_bytes();
        let key = match self.algorithm {
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem),
            _ => EncodingKey::from_rsa_pem(pem),
        }
        .unwrap();
        let mut header = jsonwebtoken::Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        change(&mut header);
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// OIDC Core 3.1.3.8: the left half of the access token's hash under the signing
    /// algorithm's hash (SHA-512 for Ed25519, SHA-256 for the *256 algorithms).
    fn at_hash(&self, access_token: &str) -> String {
        let digest = match self.algorithm {
            Algorithm::EdDSA => sha2::Sha512::digest(access_token.as_bytes()).to_vec(),
            _ => sha2::Sha256::digest(access_token.as_bytes()).to_vec(),
        };
        URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
    }
}

/// What the token endpoint knows when it mints an ID token.
pub(crate) struct Minting {
    pub(crate) issuer: String,
    pub(crate) nonce: String,
    pub(crate) now: u64,
    pub(crate) key: TestKey,
}

impl Minting {
    /// A correct ID token's claims for subject `u-1`.
    pub(crate) fn claims(&self) -> Value {
        json!({
            "iss": self.issuer, "sub": "u-1", "aud": CLIENT_ID, "nonce": self.nonce,
            "iat": self.now, "exp": self.now + 300, "email": "u1@example.com", "email_verified": true,
            "groups": ["developers"], "at_hash": self.key.at_hash(ACCESS_TOKEN),
        })
    }
}

/// Mints the correct claims changed by `patch` (given the minting context, for times
/// relative to now): each key set to its value, or removed where the value is null.
pub(crate) fn patched(
    patch: impl Fn(&Minting) -> Value + Send + Sync + 'static,
) -> impl Fn(&Minting) -> String + Send + Sync + 'static {
    move |m: &Minting| m.key.sign(&m.patched(&patch(m)))
}

impl Minting {
    /// The correct claims changed by `patch` (see [`patched`]).
    pub(crate) fn patched(&self, patch: &Value) -> Value {
        let mut claims = self.claims();
        let map = claims.as_object_mut().unwrap();
        for (key, value) in patch.as_object().unwrap() {
            if value.is_null() {
                map.remove(key);
            } else {
                map.insert(key.clone(), value.clone());
            }
        }
        claims
    }
}

type Mint = Box<dyn Fn(&Minting) -> String + Send + Sync>;

struct ProviderState {
    issuer: String,
    published: Mutex<Vec<TestKey>>,
    signer: Mutex<TestKey>,
    mint: Mutex<Mint>,
    userinfo: Mutex<Value>,
    codes: Mutex<HashMap<String, String>>,
    jwks_fetches: AtomicUsize,
    /// rolegate's public key, when it authenticates with private_key_jwt.
    client_key: Mutex<Option<jsonwebtoken::DecodingKey>>,
    /// Client assertions seen, each with whether it verified.
    assertions: Mutex<Vec<bool>>,
}

/// The provider, serving until dropped.
pub(crate) struct TestProvider {
    pub(crate) issuer: String,
    state: Arc<ProviderState>,
    stop: Option<oneshot::Sender<()>>,
}

impl TestProvider {
    pub(crate) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let key = TestKey::new("key-1");
        let state = Arc::new(ProviderState {
            issuer: issuer.clone(),
            published: Mutex::new(vec![key.clone()]),
            signer: Mutex::new(key),
            mint: Mutex::new(Box::new(|m: &Minting| m.key.sign(&m.claims()))),
            userinfo: Mutex::new(json!({"sub": "u-1", "department": "finance"})),
            codes: Mutex::new(HashMap::new()),
            jwks_fetches: AtomicUsize::new(0),
            client_key: Mutex::new(None),
            assertions: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            issuer,
            state,
            stop: Some(stop),
        }
    }

    /// How the next ID tokens are minted.
    pub(crate) fn mint_with(&self, mint: impl Fn(&Minting) -> String + Send + Sync + 'static) {
        *self.state.mint.lock().unwrap() = Box::new(mint);
    }

    /// `claims` signed with the provider's current key: a token it could have issued.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.state.signer.lock().unwrap().sign(claims)
    }

    /// Publishes `keys` in the JWKS and signs with `signer` from now on.
    pub(crate) fn rotate_keys(&self, keys: Vec<TestKey>, signer: TestKey) {
        *self.state.published.lock().unwrap() = keys;
        *self.state.signer.lock().unwrap() = signer;
    }

    /// What the userinfo endpoint answers.
    pub(crate) fn set_userinfo(&self, claims: Value) {
        *self.state.userinfo.lock().unwrap() = claims;
    }

    /// Expects private_key_jwt client authentication, verified with `public_pem` (ES256).
    pub(crate) fn expect_client_key(&self, public_pem: &str) {
        let key = jsonwebtoken::DecodingKey::from_ec_pem(public_pem.as_bytes()).unwrap();
        *self.state.client_key.lock().unwrap() = Some(key);
    }

    /// Whether each client assertion received verified.
    pub(crate) fn assertions(&self) -> Vec<bool> {
        self.state.assertions.lock().unwrap().clone()
    }

    /// How many times the JWKS was fetched.
    pub(crate) fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn discovery(State(state): State<Arc<ProviderState>>) -> Json<Value> {
    let issuer = &state.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "authorization_response_iss_parameter_supported": true,
    }))
}

async fn jwks(State(state): State<Arc<ProviderState>>) -> Json<Value> {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys: Vec<Value> = state
        .published
        .lock()
        .unwrap()
        .iter()
        .map(TestKey::jwk)
        .collect();
    Json(json!({ "keys": keys }))
}

/// Approves at once: remembers the nonce under a fresh code and redirects back.
async fn authorize(
    State(state): State<Arc<ProviderState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let code = format!("code-{}", rand::random::<u64>());
    let nonce = query.get("nonce").cloned().unwrap_or_default();
    state.codes.lock().unwrap().insert(code.clone(), nonce);
    let mut back = url::Url::parse(&query["redirect_uri"]).unwrap();
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &query["state"])
        .append_pair("iss", &state.issuer);
    Redirect::to(back.as_str()).into_response()
}

/// Whether the client proved who it is: HTTP Basic with the secret, or, when a client key
/// is expected, an RFC 7523 assertion for this token endpoint.
fn client_authenticated(
    state: &ProviderState,
    headers: &axum::http::HeaderMap,
    form: &HashMap<String, String>,
) -> bool {
    let expected_key = state.client_key.lock().unwrap().clone();
    if let Some(key) = expected_key {
        let Some(assertion) = form.get("client_assertion") else {
            return false;
        };
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&[format!("{}/token", state.issuer)]);
        validation.set_issuer(&[CLIENT_ID]);
        validation.sub = Some(CLIENT_ID.to_owned());
        validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub", "jti"]);
        let verified = form.get("client_assertion_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            && form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
            && jsonwebtoken::decode::<Value>(assertion, &key, &validation).is_ok();
        state.assertions.lock().unwrap().push(verified);
        return verified;
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

async fn token(
    State(state): State<Arc<ProviderState>>,
    headers: axum::http::HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !client_authenticated(&state, &headers, &form) {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let Some(nonce) = state.codes.lock().unwrap().remove(&form["code"]) else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let minting = Minting {
        issuer: state.issuer.clone(),
        nonce,
        now: SystemClock.unix_seconds(),
        key: state.signer.lock().unwrap().clone(),
    };
    let id_token = (state.mint.lock().unwrap())(&minting);
    Json(json!({
        "access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

async fn userinfo(State(state): State<Arc<ProviderState>>) -> Json<Value> {
    Json(state.userinfo.lock().unwrap().clone())
}
