//! The STS Query API against real AWS clients: boto3 and the AWS CLI, pointed at
//! `…/sts` with `endpoint_url` / `--endpoint-url`. Web identity tokens come from the in-test
//! OpenID provider (signed with the key its JWKS publishes). The clients run as processes
//! while the server keeps serving on the test's other worker thread.

use rolegate::clock::{Clock, SystemClock};
use serde_json::{Value, json};

use crate::support::aws::{aws_cli, boto3};
use crate::support::oidc_provider::{CLIENT_ID, TestProvider, patched};
use crate::support::{ConfiguredServer, browser, hidden_input, location, page};

const ACCOUNT: &str = "111122223333";
const ROLE: &str = "arn:aws:iam::111122223333:role/Deployer";
const WAREHOUSE: &str = "222233334444";

/// A directory with one account that trusts provider `test` for two roles: `Deployer`
/// (any token for our client id) and `Auditor` (only subject `u-auditor`).
fn directory(host: &str) -> impl FnOnce(&std::path::Path) {
    let host = host.to_owned();
    move |folder: &std::path::Path| {
        let trust = |condition: &str| {
            format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "Corp", "Effect": "Allow", "Principal": {{"Federated": "arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"}}, "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"], "Condition": {{"StringEquals": {{{condition}}}}}}}]}}"#
            )
        };
        let deployer = trust(&format!(r#""{host}:aud": "{CLIENT_ID}""#));
        let auditor = trust(&format!(r#""{host}:sub": "u-auditor""#));
        let admin_trust = trust(&format!(r#""{host}:sub": "u-admin""#));
        let may_revoke = r#"{"name": "revoke", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["rolegate:RevokeSessions", "rolegate:ListSessions"], "Resource": "*"}]}}"#;
        // Deployer may chain into the warehouse account's Reader, which trusts it.
        let may_chain = format!(
            r#"{{"name": "chain", "document": {{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::{WAREHOUSE}:role/Reader"}}]}}}}"#
        );
        let reader = format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "FromShop", "Effect": "Allow", "Principal": {{"AWS": "{ROLE}"}}, "Action": ["sts:AssumeRole", "sts:TagSession"]}}]}}"#
        );
        std::fs::write(
            folder.join("mappings/directory/accounts.yaml"),
            format!(
                "accounts:\n  - id: \"{ACCOUNT}\"\n    alias: shop\n    identity_providers:\n      - oidc: {host}\n        idp: test\n    roles:\n      - name: Deployer\n        max_session_duration: 7200\n        managed_policies: [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]\n        inline_policies: [{may_chain}]\n        trust_policy: {deployer}\n      - name: Auditor\n        trust_policy: {auditor}\n      - name: SessionAdmin\n        inline_policies: [{may_revoke}]\n        trust_policy: {admin_trust}\n  - id: \"{WAREHOUSE}\"\n    alias: warehouse\n    roles:\n      - name: Reader\n        max_session_duration: 43200\n        trust_policy: {reader}\n      - name: Closed\n        trust_policy: {reader}\n"
            ),
        )
        .unwrap();
        std::fs::write(folder.join("mappings/rules/rules.yaml"), "rules: []\n").unwrap();
    }
}

struct Setup {
    provider: TestProvider,
    server: ConfiguredServer,
}

async fn setup() -> Setup {
    setup_with("").await
}

/// [`setup`] with `extra` configuration after the provider's table.
async fn setup_with(extra: &str) -> Setup {
    let provider = TestProvider::start().await;
    let host = url::Url::parse(&provider.issuer)
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();
    let server = ConfiguredServer::start(
        crate::support::reserve_port(),
        "test",
        (CLIENT_ID, &provider.issuer),
        extra,
        directory(&host),
    )
    .await;
    Setup { provider, server }
}

impl Setup {
    fn endpoint(&self) -> String {
        self.server.url("/sts")
    }

    /// A token for `sub`, valid for five minutes, changed by `patch`.
    fn token(&self, patch: Value) -> String {
        let now = SystemClock.unix_seconds();
        let mut claims = json!({
            "iss": self.provider.issuer, "sub": "u-1", "aud": CLIENT_ID,
            "iat": now, "exp": now + 300, "email": "u1@example.com", "email_verified": true,
        });
        for (key, value) in patch.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        self.provider.sign(&claims)
    }

    fn assume(&self, role: &str, token: &str, extra: Value) -> Value {
        let mut request = json!({
            "op": "assume_web_identity", "endpoint": self.endpoint(), "role_arn": role,
            "session_name": "deploy-bot", "token": token,
        });
        request
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        boto3(&request)
    }
}

fn error_code(answer: &Value) -> &str {
    answer["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_assumes_a_role_with_a_web_identity_and_signs_with_the_credentials() {
    let setup = setup().await;
    let answer = setup.assume(ROLE, &setup.token(json!({})), json!({"duration": 1800}));
    let credentials = &answer["Credentials"];
    let access_key_id = credentials["AccessKeyId"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(
        access_key_id.starts_with("ASIA") && access_key_id.len() == 20,
        "{access_key_id}"
    );
    assert_eq!(credentials["SecretAccessKey"].as_str().unwrap().len(), 40);
    assert_eq!(
        answer["AssumedRoleUser"]["Arn"],
        "arn:aws:sts::111122223333:assumed-role/Deployer/deploy-bot"
    );
    let role_id = answer["AssumedRoleUser"]["AssumedRoleId"].as_str().unwrap();
    assert!(
        role_id.starts_with("AROA") && role_id.ends_with(":deploy-bot"),
        "{role_id}"
    );
    assert_eq!(answer["SubjectFromWebIdentityToken"], "u-1");
    assert_eq!(answer["Audience"], CLIENT_ID);
    let expiration = time::OffsetDateTime::parse(
        credentials["Expiration"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let lifetime = expiration - time::OffsetDateTime::from(SystemClock.now());
    assert!(
        (1790..=1800).contains(&lifetime.whole_seconds()),
        "{lifetime}"
    );

    // Header-signed GetCallerIdentity with the issued credentials.
    let whoami =
        boto3(&json!({"op": "whoami", "endpoint": setup.endpoint(), "credentials": credentials}));
    assert_eq!(whoami["Arn"], answer["AssumedRoleUser"]["Arn"], "{whoami}");
    assert_eq!(whoami["Account"], ACCOUNT);
    assert_eq!(whoami["UserId"], role_id);

    // The presigned form, as Vault's AWS auth and aws-iam-authenticator forward it.
    let presigned = boto3(
        &json!({"op": "presign_whoami", "endpoint": setup.endpoint(), "credentials": credentials}),
    );
    let url = presigned["url"].as_str().unwrap();
    let response = reqwest::get(url).await.unwrap();
    let status = response.status();
    let xml = response.text().await.unwrap();
    assert_eq!(status, 200, "{url}: {xml}");
    assert!(
        xml.contains("<Arn>arn:aws:sts::111122223333:assumed-role/Deployer/deploy-bot</Arn>"),
        "{xml}"
    );

    // A tampered signature, and an access key id whose secret is not ours.
    let mut wrong_secret = credentials.clone();
    wrong_secret["SecretAccessKey"] = json!("A".repeat(40));
    let tampered =
        boto3(&json!({"op": "whoami", "endpoint": setup.endpoint(), "credentials": wrong_secret}));
    assert_eq!(error_code(&tampered), "SignatureDoesNotMatch", "{tampered}");
    assert_eq!(tampered["error"]["status"], 403);
    let mut unknown = credentials.clone();
    unknown["AccessKeyId"] = json!("ASIAAAAAAAAAAAAAAAAA");
    let refused =
        boto3(&json!({"op": "whoami", "endpoint": setup.endpoint(), "credentials": unknown}));
    assert_eq!(error_code(&refused), "InvalidClientTokenId", "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_web_identities_get_aws_error_codes() {
    let setup = setup().await;
    let wrong_audience = setup.assume(
        ROLE,
        &setup.token(json!({"aud": "someone-else"})),
        json!({}),
    );
    assert_eq!(
        error_code(&wrong_audience),
        "InvalidIdentityToken",
        "{wrong_audience}"
    );
    let now = SystemClock.unix_seconds();
    let expired = setup.token(json!({"iat": now - 900, "exp": now - 600}));
    let answer = setup.assume(ROLE, &expired, json!({}));
    assert_eq!(error_code(&answer), "ExpiredTokenException", "{answer}");
    // The Auditor role trusts another subject: AccessDenied, naming no internals.
    let answer = setup.assume(
        "arn:aws:iam::111122223333:role/Auditor",
        &setup.token(json!({})),
        json!({}),
    );
    assert_eq!(error_code(&answer), "AccessDenied", "{answer}");
    assert_eq!(answer["error"]["status"], 403);
    let message = answer["error"]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
    // Past the role's maximum session.
    let answer = setup.assume(ROLE, &setup.token(json!({})), json!({"duration": 7201}));
    assert_eq!(error_code(&answer), "ValidationError", "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exceeds the MaxSessionDuration"),
        "{answer}"
    );
    // A token no configured provider issued.
    let foreign = setup.token(json!({"iss": "https://elsewhere.example.com"}));
    let answer = setup.assume(ROLE, &foreign, json!({}));
    assert_eq!(error_code(&answer), "InvalidIdentityToken", "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_assumes_and_signs_against_rolegate() {
    let setup = setup().await;
    let endpoint = setup.endpoint();
    let token = setup.token(json!({}));
    let (ok, stdout, stderr) = aws_cli(
        &[
            "sts",
            "assume-role-with-web-identity",
            "--endpoint-url",
            &endpoint,
            "--role-arn",
            ROLE,
            "--role-session-name",
            "cli-user",
            "--web-identity-token",
            &token,
            "--output",
            "json",
        ],
        &[
            ("AWS_ACCESS_KEY_ID", "unused"),
            ("AWS_SECRET_ACCESS_KEY", "unused"),
        ],
    );
    assert!(ok, "{stderr}");
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    let credentials = &answer["Credentials"];
    let (ok, stdout, stderr) = aws_cli(
        &[
            "sts",
            "get-caller-identity",
            "--endpoint-url",
            &endpoint,
            "--output",
            "json",
        ],
        &[
            (
                "AWS_ACCESS_KEY_ID",
                credentials["AccessKeyId"].as_str().unwrap(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY",
                credentials["SecretAccessKey"].as_str().unwrap(),
            ),
            (
                "AWS_SESSION_TOKEN",
                credentials["SessionToken"].as_str().unwrap(),
            ),
        ],
    );
    assert!(ok, "{stderr}");
    let whoami: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        whoami["Arn"],
        "arn:aws:sts::111122223333:assumed-role/Deployer/cli-user"
    );
}

/// Bad input of every kind gets AWS's XML error with a 4xx and a request id: never a 500,
/// an HTML page or a hang.
#[tokio::test]
async fn malformed_query_api_requests_get_aws_xml_errors() {
    let setup = setup().await;
    let client = reqwest::Client::new();
    let endpoint = setup.endpoint();
    let post = |body: Vec<u8>| {
        client
            .post(&endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let long_token = format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={ROLE}&RoleSessionName=x1&WebIdentityToken={}",
        "a".repeat(20_001)
    );
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "no action",
            b"Version=2011-06-15".to_vec(),
            400,
            "MissingParameter",
        ),
        (
            "unknown action",
            b"Action=Nope&Version=2011-06-15".to_vec(),
            400,
            "InvalidAction",
        ),
        (
            "wrong version",
            b"Action=GetCallerIdentity&Version=2010-01-01".to_vec(),
            400,
            "InvalidAction",
        ),
        (
            "repeated parameter",
            b"Action=GetCallerIdentity&Action=GetCallerIdentity&Version=2011-06-15".to_vec(),
            400,
            "InvalidParameterValue",
        ),
        (
            "missing parameter",
            b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=x".to_vec(),
            400,
            "MissingParameter",
        ),
        (
            "oversized token",
            long_token.into_bytes(),
            400,
            "ValidationError",
        ),
        (
            "not UTF-8",
            vec![0xff, 0xfe, b'=', 0x80],
            400,
            "ValidationError",
        ),
        (
            "unsigned GetCallerIdentity",
            b"Action=GetCallerIdentity&Version=2011-06-15".to_vec(),
            403,
            "MissingAuthenticationToken",
        ),
        (
            "10 MB body",
            vec![b'a'; 10 * 1024 * 1024],
            413,
            "RequestEntityTooLarge",
        ),
    ];
    for (case, body, status, code) in cases {
        let response = post(body).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{case}");
        assert_eq!(response.headers()["content-type"], "text/xml", "{case}");
        let xml = response.text().await.unwrap();
        assert!(
            xml.starts_with("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"),
            "{case}: {xml}"
        );
        assert!(
            xml.contains(&format!("<Code>{code}</Code>")),
            "{case}: {xml}"
        );
        assert!(
            xml.contains("<RequestId>") && !xml.contains("<RequestId>-</RequestId>"),
            "{case}: {xml}"
        );
    }
    let get = client
        .get(format!(
            "{endpoint}?Action=GetCallerIdentity&Version=2011-06-15"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 403);
}

/// `AssumeRole` signed with a web-identity session's credentials chains into another
/// account: AWS's one-hour cap applies, the caller's own policies must allow the target,
/// and the chained session signs its own requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_chains_into_a_second_account_within_the_one_hour_cap() {
    let setup = setup().await;
    let first = setup.assume(ROLE, &setup.token(json!({})), json!({}));
    let credentials = first["Credentials"].clone();
    let chain = |role: &str, duration: Option<u64>| {
        let mut request = json!({
            "op": "assume_role", "endpoint": setup.endpoint(), "credentials": credentials,
            "role_arn": role, "session_name": "chained",
        });
        if let Some(duration) = duration {
            request["duration"] = json!(duration);
        }
        boto3(&request)
    };
    let reader = "arn:aws:iam::222233334444:role/Reader";
    let too_long = chain(reader, Some(3601));
    assert_eq!(error_code(&too_long), "ValidationError", "{too_long}");
    assert_eq!(
        too_long["error"]["message"],
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
    );
    let chained = chain(reader, Some(3600));
    assert_eq!(
        chained["AssumedRoleUser"]["Arn"], "arn:aws:sts::222233334444:assumed-role/Reader/chained",
        "{chained}"
    );
    let whoami = boto3(
        &json!({"op": "whoami", "endpoint": setup.endpoint(), "credentials": chained["Credentials"]}),
    );
    assert_eq!(whoami["Account"], WAREHOUSE, "{whoami}");
    // Closed trusts Deployer too, but Deployer's policies allow only Reader.
    let closed = chain("arn:aws:iam::222233334444:role/Closed", None);
    assert_eq!(error_code(&closed), "AccessDenied", "{closed}");
    assert_eq!(
        closed["error"]["message"],
        "Not authorized to perform sts:AssumeRole"
    );
}

/// The authorize API decides for downstream services with the role's policies ∩ the
/// session policies: a session policy narrows what the role allows; the decision names the
/// statements and the principal; a bad or expired token is a 401 with a JSON error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorize_api_sees_session_policies_narrow_the_role() {
    let setup = setup().await;
    let narrow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::shop-data/*"}]}"#;
    let wide = setup.assume(ROLE, &setup.token(json!({})), json!({}));
    let narrowed = setup.assume(ROLE, &setup.token(json!({})), json!({"policy": narrow}));
    assert!(
        narrowed["PackedPolicySize"].as_u64().is_some(),
        "{narrowed}"
    );
    let client = reqwest::Client::new();
    let authorize = |session: &Value, action: &str, resource: &str| {
        let body = json!({
            "session_token": session["Credentials"]["SessionToken"],
            "action": action, "resource": resource,
            "context": {"aws:SourceIp": "203.0.113.9"},
        });
        let request = client
            .post(setup.server.url("/api/v1/authorize"))
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, answer) = authorize(&wide, "s3:ListBucket", "arn:aws:s3:::shop-data").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["decision"], "allowed", "{answer}");
    assert_eq!(
        answer["matched"][0]["policy"],
        "arn:aws:iam::aws:policy/ReadOnlyAccess"
    );
    assert_eq!(
        answer["principal"]["arn"],
        "arn:aws:sts::111122223333:assumed-role/Deployer/deploy-bot"
    );
    assert_eq!(answer["principal"]["account"], ACCOUNT);
    let (_, answer) = authorize(&narrowed, "s3:ListBucket", "arn:aws:s3:::shop-data").await;
    assert_eq!(answer["decision"], "implicitDeny", "{answer}");
    let (_, answer) = authorize(&narrowed, "s3:GetObject", "arn:aws:s3:::shop-data/a.csv").await;
    assert_eq!(answer["decision"], "allowed", "{answer}");
    let (_, answer) = authorize(&wide, "s3:PutObject", "arn:aws:s3:::shop-data/a.csv").await;
    assert_eq!(answer["decision"], "implicitDeny", "{answer}");

    let mut forged = wide.clone();
    let token = forged["Credentials"]["SessionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    forged["Credentials"]["SessionToken"] = json!(format!("{}x", &token[..token.len() - 1]));
    let (status, answer) = authorize(&forged, "s3:ListBucket", "*").await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "The request is not authenticated by a valid, unrevoked role session."
    );
    assert!(answer["error"]["request_id"].is_string());
}

/// Revocation through rolegate's own API, SigV4-signed by a role session whose policies
/// allow `rolegate:RevokeSessions`: one session by access key id, then a role's sessions;
/// revoked credentials stop working at once, and a session without the permission is
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_sessions_stop_working_and_revoking_needs_the_permission() {
    let setup = setup().await;
    let admin = setup.assume(
        "arn:aws:iam::111122223333:role/SessionAdmin",
        &setup.token(json!({"sub": "u-admin"})),
        json!({}),
    );
    let victim = setup.assume(ROLE, &setup.token(json!({})), json!({}));
    let other = setup.assume(ROLE, &setup.token(json!({"sub": "u-2"})), json!({}));
    let whoami = |session: &Value| {
        boto3(
            &json!({"op": "whoami", "endpoint": setup.endpoint(), "credentials": session["Credentials"]}),
        )
    };
    assert!(whoami(&victim)["Arn"].is_string());
    let revoke = |by: &Value, body: Value| {
        boto3(&json!({
            "op": "signed_json", "url": setup.server.url("/api/v1/sessions/revoke"),
            "credentials": by["Credentials"], "body": body,
        }))
    };
    let refused = revoke(
        &victim,
        json!({"access_key_id": other["Credentials"]["AccessKeyId"]}),
    );
    assert_eq!(refused["status"], 403, "{refused}");
    let done = revoke(
        &admin,
        json!({"access_key_id": victim["Credentials"]["AccessKeyId"]}),
    );
    assert_eq!(done["status"], 200, "{done}");
    let after = whoami(&victim);
    assert_eq!(error_code(&after), "InvalidClientTokenId", "{after}");
    let authorize = reqwest::Client::new()
        .post(setup.server.url("/api/v1/authorize"))
        .json(&json!({"session_token": victim["Credentials"]["SessionToken"], "action": "s3:ListBucket", "resource": "*"}))
        .send()
        .await
        .unwrap();
    assert_eq!(authorize.status(), 401);
    assert!(
        whoami(&other)["Arn"].is_string(),
        "only the one session was revoked"
    );
    let role_wide = revoke(&admin, json!({"role_arn": ROLE}));
    assert_eq!(role_wide["status"], 200, "{role_wide}");
    assert_eq!(error_code(&whoami(&other)), "InvalidClientTokenId");
    assert!(
        whoami(&admin)["Arn"].is_string(),
        "another role's sessions live on"
    );
}

/// Every assume (allowed or denied, with the deciding statement), SigV4 failure and
/// revocation is one CloudTrail-shaped JSON line in `[audit] file`, and no secret, token or
/// signature is ever in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_has_one_cloudtrail_line_per_decision_and_no_secret() {
    let setup = setup_with("\n[audit]\nfile = \"audit.jsonl\"").await;
    let token = setup.token(json!({}));
    let session = setup.assume(ROLE, &token, json!({}));
    let denied = setup.assume("arn:aws:iam::111122223333:role/Auditor", &token, json!({}));
    assert_eq!(error_code(&denied), "AccessDenied");
    let credentials = &session["Credentials"];
    let whoami =
        boto3(&json!({"op": "whoami", "endpoint": setup.endpoint(), "credentials": credentials}));
    assert!(whoami["Arn"].is_string());
    let mut wrong = credentials.clone();
    wrong["SecretAccessKey"] = json!("B".repeat(40));
    let tampered =
        boto3(&json!({"op": "whoami", "endpoint": setup.endpoint(), "credentials": wrong}));
    assert_eq!(error_code(&tampered), "SignatureDoesNotMatch");
    let admin = setup.assume(
        "arn:aws:iam::111122223333:role/SessionAdmin",
        &setup.token(json!({"sub": "u-admin"})),
        json!({}),
    );
    let revoked = boto3(&json!({
        "op": "signed_json", "url": setup.server.url("/api/v1/sessions/revoke"),
        "credentials": admin["Credentials"], "body": {"access_key_id": credentials["AccessKeyId"]},
    }));
    assert_eq!(revoked["status"], 200, "{revoked}");

    let log = std::fs::read_to_string(setup.server.folder().join("audit.jsonl")).unwrap();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for event in &events {
        for field in [
            "eventVersion",
            "eventTime",
            "eventSource",
            "eventName",
            "awsRegion",
            "sourceIPAddress",
            "userAgent",
            "userIdentity",
            "requestParameters",
            "responseElements",
            "requestID",
            "eventID",
            "eventType",
        ] {
            assert!(event.get(field).is_some(), "no {field} in {event}");
        }
    }
    let find = |name: &str, error: Option<&str>| {
        events
            .iter()
            .find(|e| e["eventName"] == name && e["errorCode"].as_str() == error)
            .unwrap_or_else(|| panic!("no {name} {error:?} event in {log}"))
    };
    let allowed = find("AssumeRoleWithWebIdentity", None);
    assert_eq!(allowed["eventSource"], "sts.amazonaws.com");
    assert_eq!(allowed["sourceIPAddress"], "127.0.0.1");
    assert!(
        allowed["userAgent"].as_str().unwrap().contains("Boto3"),
        "{allowed}"
    );
    assert_eq!(allowed["requestParameters"]["roleArn"], ROLE);
    assert_eq!(
        allowed["responseElements"]["credentials"]["accessKeyId"],
        credentials["AccessKeyId"]
    );
    assert!(
        allowed["responseElements"]["trustedBy"]
            .as_str()
            .unwrap()
            .ends_with("#Corp"),
        "{allowed}"
    );
    find("AssumeRoleWithWebIdentity", Some("AccessDenied"));
    let signed = find("GetCallerIdentity", None);
    assert_eq!(
        signed["userIdentity"]["accessKeyId"],
        credentials["AccessKeyId"]
    );
    assert_eq!(signed["userIdentity"]["type"], "AssumedRole");
    find("GetCallerIdentity", Some("SignatureDoesNotMatch"));
    let revocation = find("RevokeSessions", None);
    assert_eq!(revocation["eventSource"], "rolegate");
    assert_eq!(
        revocation["requestParameters"]["access_key_id"],
        credentials["AccessKeyId"]
    );

    for secret in [
        credentials["SecretAccessKey"].as_str().unwrap(),
        credentials["SessionToken"].as_str().unwrap(),
        admin["Credentials"]["SecretAccessKey"].as_str().unwrap(),
        admin["Credentials"]["SessionToken"].as_str().unwrap(),
        &token,
    ] {
        assert!(
            !log.contains(secret),
            "a secret or token is in the audit log"
        );
    }
    assert!(!log.contains("eyJ"), "a JWT is in the audit log");
    assert!(
        !log.contains("Signature="),
        "a signature is in the audit log"
    );
}

/// The admin page finds a role's and a person's active sessions and revokes one session, a
/// whole person, with the session's CSRF token; each revoked session's credentials stop
/// working at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_revoke_sessions_on_the_admin_page() {
    let setup = setup_with("\n[admin]\nsubjects = [\"test:admin-1\"]").await;
    let victim = setup.assume(ROLE, &setup.token(json!({})), json!({}));
    let other = setup.assume(ROLE, &setup.token(json!({"sub": "u-2"})), json!({}));
    let key = |session: &Value| {
        session["Credentials"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (victim_key, other_key) = (key(&victim), key(&other));
    let works = |session: &Value| {
        let answer = boto3(
            &json!({"op": "whoami", "endpoint": setup.endpoint(), "credentials": session["Credentials"]}),
        );
        answer["Arn"].is_string()
    };

    let anonymous = browser();
    let refused = anonymous
        .get(setup.server.url("/admin/sessions"))
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_redirection(), "signed out: to sign-in");

    setup
        .provider
        .mint_with(patched(|_| json!({"sub": "admin-1"})));
    let admin = browser();
    let started = admin
        .get(setup.server.url("/login/test"))
        .send()
        .await
        .unwrap();
    let approved = admin.get(location(&started)).send().await.unwrap();
    let done = admin.get(location(&approved)).send().await.unwrap();
    assert_eq!(location(&done), "/");

    let listed = page(
        &admin,
        &setup
            .server
            .url(&format!("/admin/sessions?role_arn={ROLE}&idp=&subject=")),
    )
    .await;
    assert!(
        listed.contains(&victim_key) && listed.contains(&other_key),
        "{listed}"
    );
    assert!(
        !listed.contains("SecretAccessKey") && !listed.contains("eyJ"),
        "no secret or token on the page"
    );
    let by_account = page(&admin, &setup.server.url("/admin/sessions?account=shop")).await;
    assert!(
        by_account.contains(&victim_key) && by_account.contains(&other_key),
        "an account's sessions: {by_account}"
    );
    let nowhere = admin
        .get(setup.server.url("/admin/sessions?account=nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status(), 400);
    let mappings = page(&admin, &setup.server.url("/admin/mappings")).await;
    assert!(
        mappings.contains("href=\"/admin/sessions\""),
        "linked from the mappings page"
    );
    let csrf = hidden_input(&listed, "csrf").unwrap();
    let revoke = |form: Vec<(&'static str, String)>| {
        let admin = admin.clone();
        let url = setup.server.url("/admin/sessions/revoke");
        async move { admin.post(url).form(&form).send().await.unwrap() }
    };

    let forged = revoke(vec![
        ("csrf", "forged".into()),
        ("revoke", "session".into()),
        ("access_key_id", victim_key.clone()),
    ])
    .await;
    assert_eq!(forged.status(), 403, "a forged CSRF token");
    assert!(works(&victim), "nothing was revoked by the forged post");

    let revoked = revoke(vec![
        ("csrf", csrf.clone()),
        ("revoke", "session".into()),
        ("access_key_id", victim_key.clone()),
        ("role_arn", ROLE.into()),
    ])
    .await;
    assert_eq!(revoked.status(), 200);
    let html = revoked.text().await.unwrap();
    assert!(
        html.contains(&format!("Session {victim_key} is revoked.")),
        "{html}"
    );
    assert!(
        !html.contains(&format!("<code>{victim_key}</code>")) && html.contains(&other_key),
        "the revoked session is no longer active: {html}"
    );
    assert!(
        !works(&victim),
        "the revoked session's credentials are refused"
    );
    assert!(works(&other), "the other session lives on");

    let person = page(
        &admin,
        &setup
            .server
            .url("/admin/sessions?role_arn=&idp=test&subject=u-2"),
    )
    .await;
    assert!(person.contains(&other_key), "{person}");
    let csrf = hidden_input(&person, "csrf").unwrap();
    let everything = revoke(vec![
        ("csrf", csrf),
        ("revoke", "person".into()),
        ("idp", "test".into()),
        ("subject", "u-2".into()),
    ])
    .await;
    assert_eq!(everything.status(), 200);
    assert!(!works(&other), "every session of u-2 is revoked");
}
