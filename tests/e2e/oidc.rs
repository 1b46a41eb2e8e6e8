//! The OpenID Connect relying party against an in-test provider whose ID tokens are wrong in
//! exactly one way each (OIDC Core 3.1.3.7): every one is refused with a 4xx page that names
//! the request and leaks no token, and the browser stays signed out.

use serde_json::{Value, json};

use crate::support::oidc_provider::{Minting, TestKey, TestProvider};
use crate::support::{ConfiguredServer, browser, location};

/// Signs in through `provider`; the callback's response.
async fn sign_in(server: &ConfiguredServer, client: &reqwest::Client) -> reqwest::Response {
    let started = client.get(server.url("/login/test")).send().await.unwrap();
    let approved = client.get(location(&started)).send().await.unwrap();
    client.get(location(&approved)).send().await.unwrap()
}

/// Asserts the sign-in was refused as a sign-in error should be, and nobody is signed in.
async fn assert_refused(server: &ConfiguredServer, client: &reqwest::Client, case: &str) {
    let response = sign_in(server, client).await;
    let status = response.status();
    let html = response.text().await.unwrap();
    assert!(status.is_client_error(), "{case}: status {status}: {html}");
    assert!(html.contains("could not be verified"), "{case}: {html}");
    assert!(
        html.contains("request id <code>"),
        "{case}: no request id: {html}"
    );
    assert!(
        !html.contains("eyJ"),
        "{case}: a token leaked into the page"
    );
    assert!(
        html.contains("/login"),
        "{case}: no way to start over: {html}"
    );
    let portal = client.get(server.url("/")).send().await.unwrap();
    assert!(
        portal.status().is_redirection(),
        "{case}: signed in anyway ({})",
        portal.status()
    );
}

async fn setup(extra: &str) -> (TestProvider, ConfiguredServer) {
    let provider = TestProvider::start().await;
    let server = ConfiguredServer::with_oidc(&provider.issuer, extra).await;
    (provider, server)
}

fn with(mint: &Minting, change: impl Fn(&mut serde_json::Map<String, Value>)) -> Value {
    let mut claims = mint.claims();
    change(claims.as_object_mut().unwrap());
    claims
}

#[tokio::test]
async fn a_correct_id_token_signs_in() {
    let (_provider, server) = setup("").await;
    let client = browser();
    let done = sign_in(&server, &client).await;
    assert_eq!(location(&done), "/");
    let portal = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(portal.status(), 200);
    assert!(portal.text().await.unwrap().contains("u1@example.com"));
}

#[tokio::test]
async fn each_defective_id_token_is_refused() {
    type Defect = Box<dyn Fn(&Minting) -> String + Send + Sync>;
    let cases: Vec<(&str, Defect)> = vec![
        (
            "alg none",
            Box::new(|m| {
                let header = base64_url(&json!({"alg": "none", "typ": "JWT"}));
                format!("{header}.{}.", base64_url(&m.claims()))
            }),
        ),
        (
            "HS256 keyed with the provider's public key",
            Box::new(|m| {
                let key = jsonwebtoken::EncodingKey::from_secret(&m.key.public_bytes());
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
                header.kid = Some(m.key.kid.clone());
                jsonwebtoken::encode(&header, &m.claims(), &key).unwrap()
            }),
        ),
        (
            "signed by a key the provider never published",
            Box::new(|m| TestKey::new("rogue").sign_as(&m.key.kid, &m.claims())),
        ),
        (
            "payload altered after signing",
            Box::new(|m| {
                let token = m.key.sign(&m.claims());
                let parts: Vec<&str> = token.split('.').collect();
                let forged = with(m, |c| {
                    c.insert("sub".into(), json!("admin"));
                });
                format!("{}.{}.{}", parts[0], base64_url(&forged), parts[2])
            }),
        ),
        (
            "another issuer",
            Box::new(|m| {
                m.key.sign(&with(m, |c| {
                    c.insert("iss".into(), json!("https://evil.example"));
                }))
            }),
        ),
        (
            "another audience",
            Box::new(|m| {
                m.key.sign(&with(m, |c| {
                    c.insert("aud".into(), json!("someone-else"));
                }))
            }),
        ),
        (
            "several audiences without azp",
            Box::new(|m| {
                m.key.sign(&with(m, |c| {
                    c.insert(
                        "aud".into(),
                        json!([crate::support::oidc_provider::CLIENT_ID, "other"]),
                    );
                }))
            }),
        ),
        (
            "azp names another client",
            Box::new(|m| {
                m.key.sign(&with(m, |c| {
                    c.insert("azp".into(), json!("other"));
                }))
            }),
        ),
        (
            "expired beyond the clock skew",
            Box::new(|m| {
                m.key.sign(&with(m, |c| {
                    c.insert("iat".into(), json!(m.now - 600));
                    c.insert("exp".into(), json!(m.now - 61));
                }))
            }),
        ),
        (
            "issued in the future beyond the clock skew",
            Box::new(|m| {
                m.key.sign(&with(m, |c| {
                    c.insert("iat".into(), json!(m.now + 120));
                }))
            }),
        ),
        (
            "another nonce",
            Box::new(|m| {
                m.key.sign(&with(m, |c| {
                    c.insert("nonce".into(), json!("replayed-nonce"));
                }))
            }),
        ),
        (
            "no nonce",
            Box::new(|m| {
                m.key.sign(&with(m, |c| {
                    c.remove("nonce");
                }))
            }),
        ),
        (
            "no sub",
            Box::new(|m| {
                m.key.sign(&with(m, |c| {
                    c.remove("sub");
                }))
            }),
        ),
        (
            "no iat",
            Box::new(|m| {
                m.key.sign(&with(m, |c| {
                    c.remove("iat");
                }))
            }),
        ),
        (
            "no exp",
            Box::new(|m| {
                m.key.sign(&with(m, |c| {
                    c.remove("exp");
                }))
            }),
        ),
        (
            "at_hash of another access token",
            Box::new(|m| {
                m.key.sign(&with(m, |c| {
                    c.insert("at_hash".into(), json!("AAAAAAAAAAAAAAAAAAAAAA"));
                }))
            }),
        ),
        ("not a JWT", Box::new(|_| "not-a-token".to_owned())),
    ];
    let (provider, server) = setup("").await;
    for (case, defect) in cases {
        provider.mint_with(defect);
        assert_refused(&server, &browser(), case).await;
    }
}

#[tokio::test]
async fn clock_skew_is_allowed_up_to_the_configured_leeway() {
    let (provider, server) = setup("clock_skew_seconds = 120").await;
    provider.mint_with(|m| {
        m.key.sign(&with(m, |c| {
            c.insert("exp".into(), json!(m.now - 90));
            c.insert("iat".into(), json!(m.now - 400));
        }))
    });
    let client = browser();
    assert_eq!(location(&sign_in(&server, &client).await), "/");
    provider.mint_with(|m| {
        m.key.sign(&with(m, |c| {
            c.insert("exp".into(), json!(m.now - 130));
        }))
    });
    assert_refused(&server, &browser(), "expired beyond 120 s").await;
}

#[tokio::test]
async fn several_audiences_are_accepted_when_azp_is_this_client() {
    let (provider, server) = setup("").await;
    provider.mint_with(|m| {
        m.key.sign(&with(m, |c| {
            let id = crate::support::oidc_provider::CLIENT_ID;
            c.insert("aud".into(), json!([id, "https://api.example"]));
            c.insert("azp".into(), json!(id));
        }))
    });
    let client = browser();
    assert_eq!(location(&sign_in(&server, &client).await), "/");
}

#[tokio::test]
async fn rotated_keys_are_fetched_once_for_an_unknown_kid() {
    let (provider, server) = setup("").await;
    let client = browser();
    assert_eq!(location(&sign_in(&server, &client).await), "/");
    let fetched = provider.jwks_fetches();
    let next = TestKey::new("key-2");
    provider.rotate_keys(vec![next.clone()], next);
    let client = browser();
    assert_eq!(location(&sign_in(&server, &client).await), "/");
    assert_eq!(provider.jwks_fetches(), fetched + 1);
    // Forged key ids cannot make rolegate fetch again within the minute.
    provider.mint_with(|m| TestKey::new("forged").sign_as("forged-kid", &m.claims()));
    assert_refused(&server, &browser(), "unknown kid").await;
    assert_refused(&server, &browser(), "unknown kid again").await;
    assert_eq!(provider.jwks_fetches(), fetched + 1);
}

/// Userinfo fills in what the ID token lacks (here the groups); the ID token's own claims
/// (here the email) win.
#[tokio::test]
async fn userinfo_claims_are_merged_when_configured() {
    for (userinfo, shown, hidden) in [
        (true, "from-userinfo", "other@example.com"),
        (false, "none", "from-userinfo"),
    ] {
        let (provider, server) = setup(&format!("userinfo = {userinfo}")).await;
        provider.mint_with(|m| {
            m.key.sign(&with(m, |c| {
                c.remove("groups");
            }))
        });
        provider.set_userinfo(json!({
            "sub": "u-1", "groups": ["from-userinfo"], "email": "other@example.com",
        }));
        let client = browser();
        assert_eq!(location(&sign_in(&server, &client).await), "/");
        let html = client
            .get(server.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(shown), "userinfo = {userinfo}: {html}");
        assert!(
            html.contains("u1@example.com"),
            "userinfo = {userinfo}: {html}"
        );
        assert!(!html.contains(hidden), "userinfo = {userinfo}: {html}");
    }
}

#[tokio::test]
async fn userinfo_for_another_subject_is_refused() {
    let (provider, server) = setup("userinfo = true").await;
    provider.set_userinfo(json!({"sub": "someone-else", "groups": ["admins"]}));
    let client = browser();
    let response = sign_in(&server, &client).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    let portal = client.get(server.url("/")).send().await.unwrap();
    assert!(portal.status().is_redirection());
}

fn base64_url(value: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}
