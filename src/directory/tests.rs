//! Directory loading: identity provider links and their audiences.

use std::path::PathBuf;

use super::{LinkedProvider, load_sources};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/login.example.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;

/// One account whose `identity_providers` list is `providers` (YAML flow entries).
fn account_with(providers: &str) -> Vec<(PathBuf, String)> {
    vec![(
        PathBuf::from("accounts.yaml"),
        format!(
            "accounts:\n  - id: \"111122223333\"\n    alias: shop\n    identity_providers:\n{providers}    roles:\n      - name: Deployer\n        trust_policy: {TRUST}\n"
        ),
    )]
}

fn problems(providers: &str) -> Vec<String> {
    load_sources(&account_with(providers))
        .expect_err("the directory should be refused")
        .problems
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn an_oidc_link_carries_its_extra_audiences() {
    let directory = load_sources(&account_with(
        "      - oidc: login.example.com\n        idp: corp\n        audiences: [deploy-pipeline, ci]\n      - saml: adfs\n        idp: adfs\n",
    ))
    .unwrap();
    let (account, _) = directory
        .role_by_arn("arn:aws:iam::111122223333:role/Deployer")
        .unwrap();
    assert_eq!(
        account.identity_providers["corp"],
        LinkedProvider {
            arn: "arn:aws:iam::111122223333:oidc-provider/login.example.com".into(),
            audiences: vec!["deploy-pipeline".into(), "ci".into()],
        }
    );
    assert!(account.identity_providers["adfs"].audiences.is_empty());
}

#[test]
fn audiences_are_refused_on_saml_links_and_outside_iam_limits() {
    assert_eq!(
        problems("      - saml: adfs\n        idp: adfs\n        audiences: [x]\n"),
        ["accounts.yaml:5: `audiences` belongs to an `oidc:` provider entry only"]
    );
    let blank =
        problems("      - oidc: login.example.com\n        idp: corp\n        audiences: [\"\"]\n");
    assert_eq!(
        blank,
        ["accounts.yaml:5: audience `` is not a client id (1–255 characters, no spaces)"]
    );
    let many: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
    let too_many = problems(&format!(
        "      - oidc: login.example.com\n        idp: corp\n        audiences: [{}]\n",
        many.join(", ")
    ));
    assert_eq!(
        too_many,
        ["accounts.yaml:5: `audiences` lists 101 client ids; IAM allows 100"]
    );
}
