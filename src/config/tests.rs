use std::collections::HashMap;
use std::path::Path;

use secrecy::ExposeSecret;

use super::*;

/// A config folder with the default directory and mappings folders present.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mappings/directory")).unwrap();
    std::fs::create_dir_all(dir.path().join("mappings/rules")).unwrap();
    dir
}

fn load_with(dir: &Path, text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let path = dir.join("rolegate.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path, &|name| env.get(name).cloned())
}

fn load(text: &str) -> Result<Config, ConfigError> {
    load_with(
        folder().path(),
        text,
        &[("ROLEGATE_IDP_CORP_CLIENT_SECRET", "s3cret")],
    )
}

/// The client secret of a provider that authenticates with one.
fn secret(oidc: &OidcSettings) -> &str {
    match &oidc.client_auth {
        ClientAuth::SecretBasic(secret) | ClientAuth::SecretPost(secret) => secret.expose_secret(),
        ClientAuth::PrivateKeyJwt(_) => panic!("no secret"),
    }
}

fn error(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

const CORP: &str = r#"
[[idp]]
name = "corp"
kind = "oidc"
issuer = "https://login.example.com"
client_id = "rolegate"
"#;

#[test]
fn empty_file_gives_the_documented_defaults() {
    let config = load("").unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.public_url.origin(), "http://127.0.0.1:8080");
    assert!(matches!(config.store, StoreSpec::Memory));
    assert!(config.directory.ends_with("mappings/directory"));
    assert!(config.idps.is_empty());
}

#[test]
fn misspelt_top_level_key_names_file_line_and_key() {
    let message = error("listen = \"127.0.0.1:9000\"\npublic_ur = \"http://x\"\n");
    assert!(message.contains("rolegate.toml:2:1"), "{message}");
    assert!(message.contains("unknown field `public_ur`"), "{message}");
}

#[test]
fn misspelt_idp_key_names_its_line() {
    let text = CORP.replace("client_id", "clientid");
    let message = error(&text);
    assert!(message.contains("rolegate.toml:6:1"), "{message}");
    assert!(message.contains("unknown field `clientid`"), "{message}");
}

#[test]
fn misspelt_keys_section_key_is_rejected() {
    let message = error("[keys]\nsession_signing_key = \"x\"\n");
    assert!(
        message.contains("unknown field `session_signing_key`"),
        "{message}"
    );
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let message = error("listen = \"127.0.0.1:9000\"\nstore = \n");
    assert!(message.contains("rolegate.toml:2:"), "{message}");
}

#[test]
fn bad_listen_address_points_at_value() {
    let message = error("\n\nlisten = \"localhost\"\n");
    assert!(
        message.contains("rolegate.toml:3:10: `listen`"),
        "{message}"
    );
}

#[test]
fn public_url_with_a_path_is_rejected() {
    let message = error("public_url = \"https://sso.example.com/portal\"\n");
    assert!(
        message.contains("`public_url`: must be an origin only"),
        "{message}"
    );
}

#[test]
fn store_must_be_memory_or_redis() {
    let message = error("store = \"postgres://db\"\n");
    assert!(message.contains("`store`"), "{message}");
    assert!(message.contains("redis://"), "{message}");
}

#[test]
fn environment_overrides_the_file_and_is_named_in_errors() {
    let dir = folder();
    let config = load_with(
        dir.path(),
        "store = \"memory\"\n",
        &[("ROLEGATE_STORE", "redis://:pw@127.0.0.1:6379/0")],
    )
    .unwrap();
    match &config.store {
        StoreSpec::Redis(url) => {
            assert_eq!(url.expose(), "redis://:pw@127.0.0.1:6379/0");
            assert!(!url.redacted().contains("pw"), "{}", url.redacted());
        }
        StoreSpec::Memory => panic!("the environment did not override `store`"),
    }
    let message = load_with(dir.path(), "", &[("ROLEGATE_LISTEN", "nope")])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("environment variable `ROLEGATE_LISTEN`"),
        "{message}"
    );
}

#[test]
fn relative_paths_resolve_against_the_config_folder() {
    let dir = folder();
    std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
    let config = load_with(dir.path(), "directory = \"elsewhere\"\n", &[]).unwrap();
    assert_eq!(config.directory, dir.path().join("elsewhere"));
}

#[test]
fn missing_directory_is_an_error_naming_the_key() {
    let message = error("directory = \"nowhere\"\n");
    assert!(message.contains("`directory`: `"), "{message}");
    assert!(message.contains("nowhere` does not exist"), "{message}");
}

#[test]
fn oidc_idp_with_secret_from_the_default_environment_variable() {
    let config = load(CORP).unwrap();
    let [idp] = config.idps.as_slice() else {
        panic!("expected one idp")
    };
    assert_eq!(idp.name.as_str(), "corp");
    let IdpProtocol::Oidc(oidc) = &idp.protocol else {
        panic!("expected oidc")
    };
    assert_eq!(secret(oidc), "s3cret");
    assert_eq!(oidc.scopes, ["openid", "email", "profile"]);
    assert_eq!(oidc.groups_claim, "groups");
}

#[test]
fn client_secret_from_a_file_is_trimmed() {
    let dir = folder();
    std::fs::write(dir.path().join("secret.txt"), "from-file\n").unwrap();
    let text = format!("{CORP}client_secret_file = \"secret.txt\"\n");
    let config = load_with(dir.path(), &text, &[]).unwrap();
    let IdpProtocol::Oidc(oidc) = &config.idps[0].protocol else {
        panic!("expected oidc")
    };
    assert_eq!(secret(oidc), "from-file");
}

#[test]
fn missing_client_secret_names_the_variable_to_set() {
    let message = load_with(folder().path(), CORP, &[])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("ROLEGATE_IDP_CORP_CLIENT_SECRET"),
        "{message}"
    );
}

#[test]
fn secret_value_never_appears_in_debug_output() {
    let config = load(CORP).unwrap();
    assert!(!format!("{config:?}").contains("s3cret"));
}

#[test]
fn plain_http_issuer_is_only_for_loopback() {
    let message = error(&CORP.replace("https://login.example.com", "http://login.example.com"));
    assert!(
        message.contains("`idp[0].issuer`: must be https"),
        "{message}"
    );
    let loopback = CORP.replace("https://login.example.com", "http://127.0.0.1:9000/op");
    assert!(load(&loopback).is_ok());
}

#[test]
fn oidc_idp_without_issuer_is_rejected() {
    let message = error(&CORP.replace("issuer = \"https://login.example.com\"\n", ""));
    assert!(
        message.contains("`idp[0].issuer`: is required"),
        "{message}"
    );
}

#[test]
fn saml_key_on_an_oidc_idp_is_rejected() {
    let message = error(&format!("{CORP}metadata_file = \"x.xml\"\n"));
    assert!(message.contains("rolegate.toml:7:"), "{message}");
    assert!(
        message.contains("does not apply to kind = \"oidc\""),
        "{message}"
    );
}

#[test]
fn demo_kind_is_refused_outside_demo_mode() {
    let message = error("[[idp]]\nname = \"demo\"\nkind = \"demo\"\n");
    assert!(
        message.contains("rolegate.toml:3:8: `idp[0].kind`"),
        "{message}"
    );
    assert!(message.contains("refuses"), "{message}");
}

#[test]
fn unknown_idp_kind_is_rejected() {
    let message = error("[[idp]]\nname = \"x\"\nkind = \"ldap\"\n");
    assert!(message.contains("unknown variant `ldap`"), "{message}");
}

#[test]
fn duplicate_idp_names_are_rejected() {
    let message = error(&format!("{CORP}{CORP}"));
    assert!(message.contains("`idp[1].name`"), "{message}");
}

#[test]
fn bad_idp_name_is_rejected() {
    let message = error(&CORP.replace("name = \"corp\"", "name = \"Corp IdP\""));
    assert!(message.contains("`idp[0].name`"), "{message}");
}

#[test]
fn saml_idp_needs_metadata() {
    let message = error("[[idp]]\nname = \"adfs\"\nkind = \"saml\"\n");
    assert!(
        message.contains("needs `metadata_file` or `metadata_url`"),
        "{message}"
    );
    let dir = folder();
    std::fs::write(dir.path().join("adfs.xml"), "<EntityDescriptor/>").unwrap();
    let text = "[[idp]]\nname = \"adfs\"\nkind = \"saml\"\nmetadata_file = \"adfs.xml\"\nhonour_idp_roles = true\n";
    let config = load_with(dir.path(), text, &[]).unwrap();
    let IdpProtocol::Saml(saml) = &config.idps[0].protocol else {
        panic!("expected saml")
    };
    assert!(saml.honour_idp_roles);
}

#[test]
fn key_file_must_hold_pem() {
    let dir = folder();
    std::fs::write(dir.path().join("k.pem"), "not a key").unwrap();
    let message = load_with(
        dir.path(),
        "[keys]\nsession_signing_key_file = \"k.pem\"\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        message.contains("`keys.session_signing_key_file`: is not PEM"),
        "{message}"
    );
    let env = [(
        "ROLEGATE_KEYS_SESSION_SIGNING_KEY",
        "-----BEGIN PRIVATE KEY-----\nx\n",
    )];
    let config = load_with(dir.path(), "", &env).unwrap();
    assert!(config.keys.session_signing_key.is_some());
}

#[test]
fn unreadable_file_is_reported() {
    let path = Path::new("/nonexistent/rolegate.toml");
    let message = Config::load(path, &|_| None).unwrap_err().to_string();
    assert!(
        message.starts_with("/nonexistent/rolegate.toml: cannot read"),
        "{message}"
    );
}

#[test]
fn oidc_extras_are_read_and_checked() {
    let dir = folder();
    std::fs::write(
        dir.path().join("corp.svg"),
        "<svg xmlns='http://www.w3.org/2000/svg'/>",
    )
    .unwrap();
    let text = format!(
        "{CORP}logo_file = \"corp.svg\"\nallowed_email_domains = [\"Example.COM\", \"example.org\"]\nclock_skew_seconds = 30\nuserinfo = true\n"
    );
    let config = load_with(
        dir.path(),
        &text,
        &[("ROLEGATE_IDP_CORP_CLIENT_SECRET", "s")],
    )
    .unwrap();
    let idp = &config.idps[0];
    assert_eq!(idp.logo.as_ref().unwrap().content_type, "image/svg+xml");
    assert_eq!(idp.allowed_email_domains, ["example.com", "example.org"]);
    let IdpProtocol::Oidc(oidc) = &idp.protocol else {
        panic!("not OIDC")
    };
    assert_eq!(oidc.clock_skew, std::time::Duration::from_secs(30));
    assert!(oidc.userinfo);
    // Defaults.
    let IdpProtocol::Oidc(oidc) = &load(CORP).unwrap().idps[0].protocol else {
        panic!("not OIDC")
    };
    assert_eq!(oidc.clock_skew, DEFAULT_CLOCK_SKEW);
    assert!(!oidc.userinfo);
}

#[test]
fn bad_oidc_extras_name_their_key() {
    for (extra, expected) in [
        (
            "clock_skew_seconds = 3600",
            "`idp[0].clock_skew_seconds`: must be 0-300 seconds",
        ),
        (
            "logo_file = \"corp.gif\"",
            "`idp[0].logo_file`: must be a .png, .jpg or .svg file",
        ),
        (
            "logo_file = \"missing.png\"",
            "`idp[0].logo_file`: cannot read",
        ),
        (
            "allowed_email_domains = [\"@example.com\"]",
            "`idp[0].allowed_email_domains`: `@example.com` is not a domain name",
        ),
        (
            "userinfo = \"yes\"",
            "rolegate.toml:7:12: invalid type: string \"yes\", expected a boolean",
        ),
    ] {
        let message = error(&format!("{CORP}{extra}\n"));
        assert!(message.contains(expected), "{extra}: {message}");
    }
}

#[test]
fn client_authentication_methods() {
    let dir = folder();
    let key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/oidc/client-es256.pem"
    );
    let post = format!("{CORP}client_auth = \"client_secret_post\"\n");
    let config = load_with(
        dir.path(),
        &post,
        &[("ROLEGATE_IDP_CORP_CLIENT_SECRET", "s")],
    )
    .unwrap();
    let IdpProtocol::Oidc(oidc) = &config.idps[0].protocol else {
        panic!("not OIDC")
    };
    assert!(matches!(oidc.client_auth, ClientAuth::SecretPost(_)));
    let jwt = format!(
        "{CORP}client_auth = \"private_key_jwt\"\nprivate_key_file = \"{key}\"\nprivate_key_id = \"k1\"\n"
    );
    // No client secret is needed.
    let config = load_with(dir.path(), &jwt, &[]).unwrap();
    let IdpProtocol::Oidc(oidc) = &config.idps[0].protocol else {
        panic!("not OIDC")
    };
    let ClientAuth::PrivateKeyJwt(client_key) = &oidc.client_auth else {
        panic!("not private_key_jwt")
    };
    let assertion = client_key
        .assertion("rolegate", "https://login.example.com/token", 1_000)
        .unwrap();
    let header = jsonwebtoken::decode_header(&assertion).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(header.kid.as_deref(), Some("k1"));
    assert!(
        !format!("{client_key:?}").contains("PRIVATE"),
        "the key must not be printed"
    );
    // Bad settings.
    std::fs::write(dir.path().join("not-a-key.pem"), "hello").unwrap();
    for (extra, expected) in [
        (
            "client_auth = \"tls_client_auth\"",
            "`idp[0].client_auth`: `tls_client_auth` is not one of",
        ),
        (
            "client_auth = \"private_key_jwt\"",
            "private_key_jwt needs a key",
        ),
        (
            "client_auth = \"private_key_jwt\"\nprivate_key_file = \"not-a-key.pem\"",
            "`idp[0].private_key_file`: not a PEM RSA or EC P-256 private key",
        ),
    ] {
        let message = load_with(dir.path(), &format!("{CORP}{extra}\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(message.contains(expected), "{extra}: {message}");
    }
}

#[test]
fn unqualified_admin_entries_are_refused_with_their_position() {
    let unqualified = error(&format!(
        "{CORP}\n[admin]\ngroups = [\"rolegate-admins\"]\n"
    ));
    assert!(
        unqualified.ends_with(
            "rolegate.toml:9:11: `admin.groups[0]`: `rolegate-admins` names no identity \
             provider: write `corp:rolegate-admins`; a group is unique only within one provider"
        ),
        "{unqualified}"
    );
    let subject = error(&format!(
        "{CORP}\n[admin]\nsubjects = [\"corp:bob\", \"alice\"]\n"
    ));
    assert!(
        subject.contains("`admin.subjects[1]`: `alice` names no identity provider"),
        "{subject}"
    );
    let unknown = error(&format!("{CORP}\n[admin]\ngroups = [\"partner:admins\"]\n"));
    assert!(
        unknown.contains("`partner` is not a configured [[idp]]"),
        "{unknown}"
    );
    let empty = error(&format!("{CORP}\n[admin]\ngroups = [\"corp:\"]\n"));
    assert!(
        empty.contains("names no group after the provider"),
        "{empty}"
    );
}

#[test]
fn admin_entries_admit_only_at_their_provider() {
    let config = load(&format!(
        "{CORP}\n[[idp]]\nname = \"partner\"\nkind = \"oidc\"\nissuer = \"https://partner.example\"\n\
         client_id = \"x\"\nclient_secret_env = \"ROLEGATE_IDP_CORP_CLIENT_SECRET\"\n\n\
         [admin]\ngroups = [\"corp:rolegate-admins\"]\nsubjects = [\"corp:alice\"]\n"
    ))
    .unwrap();
    let corp = IdpName::parse("corp").unwrap();
    let partner = IdpName::parse("partner").unwrap();
    let admins = ["rolegate-admins".to_owned()];
    assert!(config.admin.admits(&corp, "bob", &admins));
    assert!(config.admin.admits(&corp, "alice", &[]));
    assert!(!config.admin.admits(&partner, "bob", &admins));
    assert!(!config.admin.admits(&partner, "alice", &[]));
    assert!(!config.admin.admits(&corp, "bob", &[]));
}

#[test]
fn limits_have_defaults_and_refuse_zero_with_their_position() {
    let config = load("").unwrap();
    assert_eq!(config.limits, Limits::default());
    assert_eq!(config.session_cookie, SessionCookie::BrowserSession);
    let set = load(
        "[limits]\nheader_read_timeout_seconds = 5\nmax_connections = 64\n\n[session]\npersistent_cookie = true\n",
    )
    .unwrap();
    assert_eq!(
        set.limits.header_read_timeout,
        std::time::Duration::from_secs(5)
    );
    assert_eq!(set.limits.max_connections, 64);
    assert_eq!(set.session_cookie, SessionCookie::Persistent);
    let zero = error("[limits]\nrequest_timeout_seconds = 0\n");
    assert!(
        zero.ends_with(":2:27: `limits.request_timeout_seconds`: must be from 1 to 3600, not 0"),
        "{zero}"
    );
    let unknown = error("[limits]\nidle = 3\n");
    assert!(unknown.contains("unknown field `idle`"), "{unknown}");
}
