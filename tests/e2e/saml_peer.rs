//! Signing in through a real SAML identity provider, pysaml2 (with Debian's xmlsec1):
//! rolegate's signed AuthnRequest is verified by pysaml2, pysaml2's signed response by
//! rolegate, its attributes become the person's groups and claims, and the trust policies
//! read `saml:*` keys.

use serde_json::json;

use crate::support::saml_peer::SamlServer;
use crate::support::{browser, hidden_input, location, page, portal_roles, unescape_html};

const DIRECTORY: &str = r#"accounts:
  - id: "111122223333"
    alias: peer-sandbox
    name: Peer sandbox
    identity_providers:
      - saml: pysaml
        idp: pysaml
    roles:
      - name: Developer
        trust_policy: {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111122223333:saml-provider/pysaml"}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"], "Condition": {"StringLike": {"saml:aud": "http://127.0.0.1:*/saml/acs"}, "StringEquals": {"saml:sub_type": "persistent"}}}]}
      - name: Auditor
        trust_policy: {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111122223333:saml-provider/pysaml"}, "Action": "sts:AssumeRoleWithSAML", "Condition": {"StringEquals": {"saml:sub_type": "transient"}}}]}
"#;

const RULES: &str = r#"rules:
  - id: developers
    when:
      group: developers
    then:
      account: peer-sandbox
      role: Developer
  - id: auditors
    when:
      group: developers
    then:
      account: peer-sandbox
      role: Auditor
"#;

/// Dana, with AWS's attributes: the roles she may assume through `AssumeRoleWithSAML` and
/// her session name.
fn dana_with_aws_roles() -> serde_json::Value {
    let mut person = dana();
    person["attributes"]["https://aws.amazon.com/SAML/Attributes/Role"] = json!([
        "arn:aws:iam::111122223333:role/Developer,arn:aws:iam::111122223333:saml-provider/pysaml",
    ]);
    person["attributes"]["https://aws.amazon.com/SAML/Attributes/RoleSessionName"] =
        json!(["dana@example.com"]);
    person
}

fn dana() -> serde_json::Value {
    json!({
        "name_id": "dana-7f3e",
        "attributes": {
            "mail": ["dana@example.com"],
            "displayName": ["Dana Developer"],
            "isMemberOf": ["developers", "on-call"],
        },
    })
}

/// The SAMLResponse pysaml2 posts after `client` starts signing in at rolegate.
async fn response_from_peer(server: &SamlServer, client: &reqwest::Client) -> String {
    let started = client
        .get(server.url("/login/pysaml"))
        .send()
        .await
        .unwrap();
    let sso = location(&started);
    assert!(
        sso.starts_with(&format!("{}/sso?", server.idp.base)),
        "{sso}"
    );
    // pysaml2 checks rolegate's signature over the request: a changed RelayState breaks it.
    let tampered = sso.replacen("RelayState=%2F", "RelayState=%2Fadmin", 1);
    assert_ne!(tampered, sso);
    let refused = client.get(&tampered).send().await.unwrap();
    assert_eq!(
        refused.status(),
        400,
        "pysaml2 took a tampered AuthnRequest"
    );
    let answer = client.get(&sso).send().await.unwrap();
    let status = answer.status();
    let html = answer.text().await.unwrap();
    assert_eq!(
        status, 200,
        "pysaml2 refused rolegate's AuthnRequest: {html}"
    );
    assert!(html.contains(&server.url("/saml/acs")), "{html}");
    hidden_input(&html, "SAMLResponse").expect("pysaml2 posts a SAMLResponse")
}

#[tokio::test]
async fn a_person_signs_in_through_pysaml2_and_gets_what_the_trust_policies_allow() {
    let signing = json!({ "sign_assertion": true, "sign_response": false });
    let server = SamlServer::start(dana(), signing, "", (DIRECTORY, RULES)).await;
    let client = browser();
    let response = response_from_peer(&server, &client).await;
    let acs = post_to_acs(&server, &client, &response, "").await;
    joined_at_portal(&server, &client, acs).await;
    let portal = page(&client, &server.url("/")).await;
    assert!(portal.contains("Dana Developer"), "{portal}");
    // Developer's trust policy matches `saml:aud` and `saml:sub_type`; Auditor's wants a
    // transient NameID, which pysaml2 did not send.
    assert_eq!(portal_roles(&portal), ["peer-sandbox/Developer"]);
}

#[tokio::test]
async fn a_provider_that_signs_only_the_response_is_refused_by_default_and_accepted_when_configured()
 {
    let signing = json!({ "sign_assertion": false, "sign_response": true });
    let refused = SamlServer::start(dana(), signing.clone(), "", (DIRECTORY, RULES)).await;
    let client = browser();
    let response = response_from_peer(&refused, &client).await;
    let acs = post_to_acs(&refused, &client, &response, "").await;
    assert_eq!(acs.status(), 400);
    let html = acs.text().await.unwrap();
    assert!(html.contains("the assertion is not signed"), "{html}");

    let accepted = SamlServer::start(
        dana(),
        signing,
        "require_signed = \"response\"",
        (DIRECTORY, RULES),
    )
    .await;
    let client = browser();
    let response = response_from_peer(&accepted, &client).await;
    let acs = post_to_acs(&accepted, &client, &response, "").await;
    joined_at_portal(&accepted, &client, acs).await;
}

// boto3 runs as a blocking child process: the server needs threads of its own meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_trades_a_pysaml2_assertion_for_role_credentials_once() {
    let signing = json!({ "sign_assertion": true, "sign_response": false });
    let server = SamlServer::start(dana_with_aws_roles(), signing, "", (DIRECTORY, RULES)).await;
    let principal = "arn:aws:iam::111122223333:saml-provider/pysaml";
    let assume = |assertion: &str, role: &str| {
        crate::support::aws::boto3(&json!({
            "op": "assume_saml", "endpoint": server.url("/sts"),
            "role_arn": format!("arn:aws:iam::111122223333:role/{role}"),
            "principal_arn": principal, "assertion": assertion,
        }))
    };
    let assertion = response_from_peer(&server, &browser()).await;
    let answer = assume(&assertion, "Developer");
    assert_eq!(
        answer["AssumedRoleUser"]["Arn"],
        "arn:aws:sts::111122223333:assumed-role/Developer/dana@example.com",
        "{answer}"
    );
    assert_eq!(answer["Subject"], "dana-7f3e", "{answer}");
    assert_eq!(answer["SubjectType"], "persistent", "{answer}");
    let issuer = format!("{}/metadata", server.idp.base);
    assert_eq!(answer["Issuer"], issuer.as_str(), "{answer}");
    assert_eq!(
        answer["Audience"],
        server.url("/saml/acs").as_str(),
        "{answer}"
    );
    use base64::Engine as _;
    let qualifier = base64::engine::general_purpose::STANDARD.encode(openssl::sha::sha1(
        format!("{issuer}111122223333/pysaml").as_bytes(),
    ));
    assert_eq!(answer["NameQualifier"], qualifier.as_str(), "{answer}");
    let whoami = crate::support::aws::boto3(&json!({
        "op": "whoami", "endpoint": server.url("/sts"), "credentials": answer["Credentials"],
    }));
    assert_eq!(whoami["Account"], "111122223333", "{whoami}");

    let replayed = assume(&assertion, "Developer");
    assert_eq!(
        replayed["error"]["code"], "InvalidIdentityToken",
        "{replayed}"
    );

    // Auditor is not among the assertion's Role values.
    let fresh = response_from_peer(&server, &browser()).await;
    let unlisted = assume(&fresh, "Auditor");
    assert_eq!(unlisted["error"]["code"], "AccessDenied", "{unlisted}");

    let other_account = crate::support::aws::boto3(&json!({
        "op": "assume_saml", "endpoint": server.url("/sts"),
        "role_arn": "arn:aws:iam::444455556666:role/Developer",
        "principal_arn": principal,
        "assertion": response_from_peer(&server, &browser()).await,
    }));
    assert_eq!(
        other_account["error"]["code"], "AccessDenied",
        "{other_account}"
    );

    let wrong_provider = crate::support::aws::boto3(&json!({
        "op": "assume_saml", "endpoint": server.url("/sts"),
        "role_arn": "arn:aws:iam::111122223333:role/Developer",
        "principal_arn": "arn:aws:iam::111122223333:saml-provider/other",
        "assertion": response_from_peer(&server, &browser()).await,
    }));
    assert_eq!(
        wrong_provider["error"]["code"], "InvalidIdentityToken",
        "{wrong_provider}"
    );
}

#[tokio::test]
async fn an_assertion_pysaml2_encrypts_to_the_sp_certificate_is_decrypted_and_accepted() {
    let signing = json!({ "sign_assertion": true, "encrypt_assertion": true });
    let server = SamlServer::start(
        dana(),
        signing,
        "require_encrypted_assertions = true",
        (DIRECTORY, RULES),
    )
    .await;
    let client = browser();
    let response = response_from_peer(&server, &client).await;
    use base64::Engine as _;
    let xml = base64::engine::general_purpose::STANDARD
        .decode(&response)
        .unwrap();
    let xml = String::from_utf8(xml).unwrap();
    assert!(
        xml.contains("EncryptedAssertion") && !xml.contains("dana@example.com"),
        "{xml}"
    );
    let acs = post_to_acs(&server, &client, &response, "").await;
    joined_at_portal(&server, &client, acs).await;
    assert!(
        page(&client, &server.url("/"))
            .await
            .contains("Dana Developer")
    );
}

#[tokio::test]
async fn a_triple_des_encrypted_assertion_is_refused_with_the_reason() {
    let signing = json!({
        "sign_assertion": true, "encrypt_assertion": true, "encrypt_content": "des-192",
    });
    let server = SamlServer::start(dana(), signing, "", (DIRECTORY, RULES)).await;
    let client = browser();
    let response = response_from_peer(&server, &client).await;
    let acs = post_to_acs(&server, &client, &response, "").await;
    assert_eq!(acs.status(), 400);
    let html = acs.text().await.unwrap();
    assert!(html.contains("tripledes-cbc` is not supported"), "{html}");
}

/// Posts `response` to rolegate's ACS through `client`, with `relay_state` unless empty.
async fn post_to_acs(
    server: &SamlServer,
    client: &reqwest::Client,
    response: &str,
    relay_state: &str,
) -> reqwest::Response {
    let mut form = vec![("SAMLResponse", response)];
    if !relay_state.is_empty() {
        form.push(("RelayState", relay_state));
    }
    client
        .post(server.url("/saml/acs"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Follows the ACS's answer `acs` into the browser's session: it must land on the portal.
async fn joined_at_portal(server: &SamlServer, client: &reqwest::Client, acs: reqwest::Response) {
    let status = acs.status();
    assert!(
        status.is_redirection(),
        "{status}: {}",
        acs.text().await.unwrap()
    );
    let joined = client
        .get(server.url(&location(&acs)))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&joined), "/");
}

/// Signs `client` in through the peer; the portal's CSRF token.
async fn signed_in(server: &SamlServer, client: &reqwest::Client) -> String {
    let response = response_from_peer(server, client).await;
    let acs = post_to_acs(server, client, &response, "").await;
    joined_at_portal(server, client, acs).await;
    let portal = page(client, &server.url("/")).await;
    hidden_input(&portal, "csrf").expect("signed in: the portal has a sign-out form")
}

#[tokio::test]
async fn signing_out_ends_the_session_at_pysaml2_too_and_pysaml2_can_end_ours() {
    let signing = json!({ "sign_assertion": true });
    let server = SamlServer::start(dana(), signing, "", (DIRECTORY, RULES)).await;

    // SP-initiated: rolegate's signed LogoutRequest, pysaml2's signed LogoutResponse.
    let client = browser();
    let csrf = signed_in(&server, &client).await;
    let out = client
        .post(server.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let html = out.text().await.unwrap();
    let marker = "http-equiv=\"refresh\" content=\"0; url=";
    let start = html.find(marker).expect("a signing-out page") + marker.len();
    let continue_to = unescape_html(html[start..].split('"').next().unwrap());
    assert!(
        continue_to.starts_with(&format!("{}/slo?SAMLRequest=", server.idp.base)),
        "{continue_to}"
    );
    let at_idp = client.get(&continue_to).send().await.unwrap();
    assert_eq!(
        at_idp.status(),
        303,
        "pysaml2 refused: {}",
        at_idp.text().await.unwrap()
    );
    let back = location(&at_idp);
    assert!(
        back.starts_with(&server.url("/saml/slo?SAMLResponse=")),
        "{back}"
    );
    let landed = client.get(&back).send().await.unwrap();
    assert_eq!(location(&landed), "/login");
    assert_eq!(
        location(&client.get(server.url("/")).send().await.unwrap()),
        "/login"
    );

    // IdP-initiated: pysaml2's signed LogoutRequest ends the session here.
    let client = browser();
    signed_in(&server, &client).await;
    let started = client
        .get(format!("{}/initiate-logout", server.idp.base))
        .send()
        .await
        .unwrap();
    let request = location(&started);
    assert!(
        request.starts_with(&server.url("/saml/slo?SAMLRequest=")),
        "{request}"
    );
    // A changed request is refused and ends nothing.
    let tampered = request.replacen("SAMLRequest=", "SAMLRequest=AA", 1);
    assert_eq!(client.get(&tampered).send().await.unwrap().status(), 400);
    assert_eq!(
        client.get(server.url("/")).send().await.unwrap().status(),
        200
    );
    let answered = client.get(&request).send().await.unwrap();
    let answer = location(&answered);
    assert!(
        answer.starts_with(&format!("{}/slo?SAMLResponse=", server.idp.base)),
        "{answer}"
    );
    assert!(answer.contains("Signature="), "{answer}");
    assert_eq!(
        location(&client.get(server.url("/")).send().await.unwrap()),
        "/login"
    );
    // The same request again is a replay.
    assert_eq!(client.get(&request).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn an_idp_initiated_sign_on_is_refused_unless_the_provider_allows_it() {
    let signing = json!({ "sign_assertion": true });
    for (extra, accepted) in [("", false), ("allow_idp_initiated = true", true)] {
        let server = SamlServer::start(dana(), signing.clone(), extra, (DIRECTORY, RULES)).await;
        let client = browser();
        let form = page(&client, &format!("{}/idp-initiated", server.idp.base)).await;
        let response = hidden_input(&form, "SAMLResponse").expect("an unsolicited response");
        let acs = post_to_acs(&server, &client, &response, "/").await;
        if !accepted {
            assert_eq!(acs.status(), 400);
            let html = acs.text().await.unwrap();
            assert!(html.contains("allow_idp_initiated"), "{html}");
            continue;
        }
        joined_at_portal(&server, &client, acs).await;
        assert!(
            page(&client, &server.url("/"))
                .await
                .contains("Dana Developer")
        );
    }
}
