//! `rolegate mappings check` and `rolegate mappings test` on the sample and on crafted bad
//! files.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_rolegate");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mapping");

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_sample_passes_check() {
    let (code, stdout, stderr) = run(&["mappings", "check"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "3 accounts, 8 roles, 12 rules, 0 lint warnings\n");
}

#[test]
fn every_lint_fires_on_crafted_bad_rules_with_file_and_line() {
    let directory = format!("{FIXTURES}/lint/directory");
    let rules = format!("{FIXTURES}/lint/rules");
    let (code, _, stderr) = run(&[
        "mappings",
        "check",
        "--directory",
        &directory,
        "--rules",
        &rules,
    ]);
    assert_eq!(code, Some(1));
    let file = format!("{rules}/rules.yaml");
    for expected in [
        format!(
            "{file}:2: rule `unknown-account`: grants account `warehouse`, which is not in the directory"
        ),
        format!(
            "{file}:6: rule `unknown-role`: grants role `Owner`, which account `shop` does not have"
        ),
        format!(
            "{file}:10: rule `contradiction`: can never match: it requires `mfa: true` and `mfa: false`"
        ),
        format!("{file}:10: rule `contradiction`: unreachable: deny rule `never-shop-admin`"),
        format!(
            "{file}:15: rule `untrusted`: grants shop/Orphan but its trust policy trusts none of the account's configured identity providers"
        ),
        format!(
            "{file}:19: rule `too-long`: session_duration 7200 s exceeds role `Admin`'s maximum of 3600 s"
        ),
        format!("{file}:23: rule `unknown-idp`: matches idp `corp`, which is not configured"),
        format!(
            "{file}:31: rule `deny-unknown-account`: tests account `warehouse`, which is not in the directory"
        ),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing `{expected}` in:\n{stderr}"
        );
    }
}

#[test]
fn load_errors_stop_check_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yaml"), "rules:\n  - id: a\n    when: { group: { regex: '[' } }\n    then: { account: shop, role: Admin }\n").unwrap();
    let directory = format!("{FIXTURES}/lint/directory");
    let (code, _, stderr) = run(&[
        "mappings",
        "check",
        "--directory",
        &directory,
        "--rules",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("r.yaml:3: group: invalid regex `[`"),
        "{stderr}"
    );
}

#[test]
fn test_command_explains_the_offer_in_json() {
    let (code, stdout, stderr) = run(&[
        "mappings",
        "test",
        "--claims",
        &format!("{FIXTURES}/bob.json"),
        "--at",
        "2026-11-23T10:00:00Z",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let offer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let roles: Vec<String> = offer["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["account_alias"].as_str().unwrap(),
                r["role_name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            "production/ReadOnly",
            "sandbox/Developer",
            "staging/Developer",
            "staging/ReadOnly"
        ]
    );
    let admins = offer["explanation"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "admins-sandbox")
        .unwrap();
    assert_eq!(admins["outcome"], "not matched");
    assert_eq!(admins["detail"], "no group matches (of 3 groups)");
}

#[test]
fn test_command_rejects_claims_without_sub() {
    let dir = tempfile::tempdir().unwrap();
    let claims = dir.path().join("c.json");
    std::fs::write(&claims, r#"{"email": "x@example.com"}"#).unwrap();
    let (code, _, stderr) = run(&["mappings", "test", "--claims", claims.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("the claims need a string `sub`"),
        "{stderr}"
    );
}

/// A SAML IdP's `Role` attribute offers a role only when the config says `honour_idp_roles`.
#[test]
fn test_command_honours_idp_asserted_roles_only_where_configured() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("directory")).unwrap();
    std::fs::create_dir_all(root.join("rules")).unwrap();
    std::fs::write(root.join("adfs.xml"), "<EntityDescriptor/>").unwrap();
    std::fs::write(
        root.join("directory/accounts.yaml"),
        r#"accounts:
  - id: "111122223333"
    alias: shop
    identity_providers: [{ saml: adfs, idp: adfs }]
    roles:
      - name: Buyer
        trust_policy: {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/adfs"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}
"#,
    )
    .unwrap();
    std::fs::write(root.join("rules/rules.yaml"), "rules: []\n").unwrap();
    std::fs::write(
        root.join("claims.json"),
        r#"{"sub": "u-7", "aud": "https://signin.aws.amazon.com/saml",
            "https://aws.amazon.com/SAML/Attributes/Role":
              ["arn:aws:iam::111122223333:saml-provider/adfs,arn:aws:iam::111122223333:role/Buyer"]}"#,
    )
    .unwrap();
    let offered = |honour: bool| {
        let config = root.join(format!("rolegate-{honour}.toml"));
        std::fs::write(
            &config,
            format!(
                "directory = \"directory\"\nmappings = \"rules\"\n\n[[idp]]\nname = \"adfs\"\nkind = \"saml\"\nmetadata_file = \"adfs.xml\"\nhonour_idp_roles = {honour}\n"
            ),
        )
        .unwrap();
        let (code, stdout, stderr) = run(&[
            "mappings",
            "test",
            "--config",
            config.to_str().unwrap(),
            "--claims",
            root.join("claims.json").to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(code, Some(0), "{stderr}");
        let offer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        offer["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["role_arn"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(offered(true), ["arn:aws:iam::111122223333:role/Buyer"]);
    assert!(offered(false).is_empty());
}

/// Finding #10.10: pasted claims without `aud` were offered nothing, because every trust
/// policy tests `aud`; it now defaults to the IdP's client id, as the ID token would carry it.
#[test]
fn test_command_defaults_aud_to_the_client_id() {
    let dir = tempfile::tempdir().unwrap();
    let claims = dir.path().join("bob.json");
    let mut bob: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/bob.json")).unwrap())
            .unwrap();
    bob.as_object_mut().unwrap().remove("aud");
    std::fs::write(&claims, bob.to_string()).unwrap();
    let (code, stdout, stderr) = run(&[
        "mappings",
        "test",
        "--claims",
        claims.to_str().unwrap(),
        "--at",
        "2026-11-23T10:00:00Z",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let offer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(offer["roles"].as_array().unwrap().len(), 4, "{offer}");
}
