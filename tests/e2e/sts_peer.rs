//! `AssumeRoleWithWebIdentity` with ID tokens from the real OpenID Provider, panva's
//! `oidc-provider`: a workload's own client (`deploy-pipeline`) gets an ID token by the
//! authorization code flow and trades it at rolegate's STS through boto3. The account that
//! lists the workload's client id among its provider link's `audiences` accepts it; an
//! account whose link does not, refuses it as AWS refuses an unregistered client id.

use serde_json::json;

use crate::support::aws::boto3;
use crate::support::peers::OidcProviderPeer;
use crate::support::{ConfiguredServer, reserve_port};

/// rolegate's own client id at the provider.
const CLIENT_ID: &str = "rolegate-demo";
const SHOP: &str = "111122223333";
const WAREHOUSE: &str = "222233334444";

/// Two accounts linking IdP `corp` (the provider at `host`), each with a `Pipeline` role that
/// trusts tokens for `deploy-pipeline` of subject `bob`; only the shop lists that audience.
fn directory(host: String) -> impl FnOnce(&std::path::Path) {
    move |folder: &std::path::Path| {
        let trust = |account: &str| {
            format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "Pipeline", "Effect": "Allow", "Principal": {{"Federated": "arn:aws:iam::{account}:oidc-provider/{host}"}}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {{"StringEquals": {{"{host}:aud": "deploy-pipeline", "{host}:sub": "bob"}}}}}}]}}"#
            )
        };
        let (shop, warehouse) = (trust(SHOP), trust(WAREHOUSE));
        std::fs::write(
            folder.join("mappings/directory/accounts.yaml"),
            format!(
                "accounts:\n  - id: \"{SHOP}\"\n    alias: shop\n    identity_providers:\n      - oidc: {host}\n        idp: corp\n        audiences: [deploy-pipeline]\n    roles:\n      - name: Pipeline\n        trust_policy: {shop}\n  - id: \"{WAREHOUSE}\"\n    alias: warehouse\n    identity_providers:\n      - oidc: {host}\n        idp: corp\n    roles:\n      - name: Pipeline\n        trust_policy: {warehouse}\n"
            ),
        )
        .unwrap();
        std::fs::write(folder.join("mappings/rules/rules.yaml"), "rules: []\n").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_trades_a_real_providers_id_token_where_its_audience_is_listed() {
    let reserved = reserve_port();
    let base = format!("http://127.0.0.1:{}", reserved.local_addr().unwrap().port());
    let provider = OidcProviderPeer::start(
        CLIENT_ID,
        &format!("{base}/auth/oidc/corp/callback"),
        &format!("{base}/login"),
    );
    let host = url::Url::parse(&provider.issuer)
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();
    let server = ConfiguredServer::start(
        reserved,
        "corp",
        (CLIENT_ID, &provider.issuer),
        "",
        directory(host.clone()),
    )
    .await;
    let token = provider.workload_id_token("bob").await;
    let assume = |account: &str| {
        boto3(&json!({
            "op": "assume_web_identity", "endpoint": server.url("/sts"),
            "role_arn": format!("arn:aws:iam::{account}:role/Pipeline"),
            "session_name": "release-42", "token": token,
        }))
    };

    let answer = assume(SHOP);
    assert_eq!(
        answer["AssumedRoleUser"]["Arn"],
        format!("arn:aws:sts::{SHOP}:assumed-role/Pipeline/release-42"),
        "{answer}"
    );
    assert_eq!(answer["SubjectFromWebIdentityToken"], "bob");
    assert_eq!(answer["Audience"], "deploy-pipeline");
    assert_eq!(
        answer["Provider"],
        format!("arn:aws:iam::{SHOP}:oidc-provider/{host}")
    );
    let whoami = boto3(&json!({
        "op": "whoami", "endpoint": server.url("/sts"), "credentials": answer["Credentials"],
    }));
    assert_eq!(whoami["Account"], SHOP, "{whoami}");

    let refused = assume(WAREHOUSE);
    assert_eq!(
        refused["error"]["code"], "InvalidIdentityToken",
        "an audience the account does not list: {refused}"
    );
}
