//! The access portal: filtering without JS (`?q=`), favourites and recently used roles kept
//! per person in the store (so another browser of the same person sees them), and tampered
//! or forged forms changing nothing.

use crate::support::{
    DemoServer, hidden_input, location, page, portal_roles as listed, signed_in_as,
};

#[tokio::test]
async fn the_filter_matches_account_name_alias_id_and_role_without_javascript() {
    let server = DemoServer::start().await;
    let bob = signed_in_as(&server, "demo-bob").await;
    let all = listed(&page(&bob, &server.url("/")).await);
    assert_eq!(all.len(), 4, "{all:?}");
    for (query, expected) in [
        ("staging", vec!["staging/Developer", "staging/ReadOnly"]),
        ("SANDBOX", vec!["sandbox/Developer"]),
        ("345678901234", vec!["production/ReadOnly"]),
        ("readonly", vec!["production/ReadOnly", "staging/ReadOnly"]),
    ] {
        let mut shown = listed(&page(&bob, &server.url(&format!("/?q={query}"))).await);
        shown.sort();
        assert_eq!(shown, expected, "?q={query}");
    }
    let none = page(&bob, &server.url("/?q=%3Cscript%3E")).await;
    assert!(listed(&none).is_empty());
    assert!(
        none.contains("Nothing matches “&#60;script&#62;”"),
        "escaped: {none}"
    );
}

#[tokio::test]
async fn favourites_come_first_and_follow_the_person() {
    let server = DemoServer::start().await;
    let bob = signed_in_as(&server, "demo-bob").await;
    let portal = page(&bob, &server.url("/")).await;
    let csrf = hidden_input(&portal, "csrf").unwrap();
    let star = |favourite: &'static str, csrf: String| {
        let bob = bob.clone();
        let url = server.url("/favourites");
        async move {
            bob.post(url)
                .form(&[("csrf", csrf.as_str()), ("favourite", favourite), ("q", "")])
                .send()
                .await
                .unwrap()
        }
    };
    let before = listed(&portal);
    assert_ne!(before.first().map(String::as_str), Some("staging/ReadOnly"));

    let forged = star(
        "role:arn:aws:iam::234567890123:role/ReadOnly",
        "forged".into(),
    )
    .await;
    assert_eq!(forged.status(), 403);
    let tampered = star("role:arn:aws:iam::999999999999:role/Admin", csrf.clone()).await;
    assert_eq!(
        tampered.status(),
        400,
        "a role not offered cannot be a favourite"
    );
    assert_eq!(
        listed(&page(&bob, &server.url("/")).await),
        before,
        "nothing changed"
    );

    let starred = star("role:arn:aws:iam::234567890123:role/ReadOnly", csrf.clone()).await;
    assert_eq!(location(&starred), "/");
    let after = page(&bob, &server.url("/")).await;
    assert_eq!(
        listed(&after).first().map(String::as_str),
        Some("staging/ReadOnly"),
        "{after}"
    );
    assert!(
        after.contains("aria-pressed=\"true\" aria-label=\"Favourite role ReadOnly in staging\""),
        "{after}"
    );

    // Another browser of the same person sees the favourite.
    let elsewhere = signed_in_as(&server, "demo-bob").await;
    let there = page(&elsewhere, &server.url("/")).await;
    assert_eq!(
        listed(&there).first().map(String::as_str),
        Some("staging/ReadOnly")
    );
    // And another person does not.
    let alice = signed_in_as(&server, "demo-alice").await;
    let hers = page(&alice, &server.url("/")).await;
    assert!(!hers.contains("aria-pressed=\"true\""), "{hers}");
}

#[tokio::test]
async fn recently_used_roles_are_listed_until_turned_off() {
    let server = DemoServer::start().await;
    let bob = signed_in_as(&server, "demo-bob").await;
    let portal = page(&bob, &server.url("/")).await;
    assert!(!portal.contains("Recently used"), "nothing used yet");
    let csrf = hidden_input(&portal, "csrf").unwrap();
    let assumed = bob
        .post(server.url("/assume"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("role_arn", "arn:aws:iam::123456789012:role/Developer"),
            ("then", "console"),
        ])
        .send()
        .await
        .unwrap();
    assert!(assumed.status().is_redirection());
    let portal = page(&bob, &server.url("/")).await;
    assert!(
        portal.contains("Recently used")
            && portal.contains("Developer <span class=\"meta\">@ sandbox</span>"),
        "{portal}"
    );

    let forged = bob
        .post(server.url("/preferences"))
        .form(&[("csrf", "forged"), ("recents", "off")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(
        page(&bob, &server.url("/")).await.contains("Recently used"),
        "nothing changed"
    );
    let off = bob
        .post(server.url("/preferences"))
        .form(&[("csrf", csrf.as_str()), ("recents", "off")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&off), "/");
    let portal = page(&bob, &server.url("/")).await;
    assert!(!portal.contains("Recently used"), "{portal}");
    assert!(portal.contains("Show recently used roles"));
    let bad = bob
        .post(server.url("/preferences"))
        .form(&[("csrf", csrf.as_str()), ("recents", "maybe")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

/// A person offered exactly one role may choose to open it at once: the portal then carries
/// a CSRF-protected form for it that its script submits (without JS, one click), and
/// `?stay=1` stays on the portal.
#[tokio::test]
async fn the_only_role_opens_at_once_when_the_person_chose_so() {
    use crate::support::ConfiguredServer;
    use crate::support::oidc_provider::{CLIENT_ID, TestProvider};
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
        "",
        move |folder| {
            let trust = format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"Federated": "arn:aws:iam::111122223333:oidc-provider/{host}"}}, "Action": "sts:AssumeRoleWithWebIdentity"}}]}}"#
            );
            std::fs::write(
                folder.join("mappings/directory/accounts.yaml"),
                format!("accounts:\n  - id: \"111122223333\"\n    alias: shop\n    identity_providers:\n      - oidc: {host}\n        idp: test\n    roles:\n      - name: Clerk\n        trust_policy: {trust}\n"),
            )
            .unwrap();
            std::fs::write(
                folder.join("mappings/rules/rules.yaml"),
                "rules:\n  - id: everyone-clerk\n    when:\n      idp: test\n    then:\n      account: shop\n      role: Clerk\n",
            )
            .unwrap();
        },
    )
    .await;
    let client = crate::support::browser();
    let started = client.get(server.url("/login/test")).send().await.unwrap();
    let approved = client.get(location(&started)).send().await.unwrap();
    let done = client.get(location(&approved)).send().await.unwrap();
    assert_eq!(location(&done), "/");

    let portal = page(&client, &server.url("/")).await;
    assert!(
        !portal.contains("id=\"autostart\""),
        "not unless chosen: {portal}"
    );
    assert!(portal.contains("Open my only role at once"), "{portal}");
    let csrf = hidden_input(&portal, "csrf").unwrap();
    let chosen = client
        .post(server.url("/preferences"))
        .form(&[("csrf", csrf.as_str()), ("straight", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&chosen), "/?stay=1");
    let stay = page(&client, &server.url("/?stay=1")).await;
    assert!(!stay.contains("id=\"autostart\""), "{stay}");
    let straight = page(&client, &server.url("/")).await;
    assert!(
        straight.contains("<form id=\"autostart\" method=\"post\" action=\"/assume\">")
            && straight.contains("value=\"arn:aws:iam::111122223333:role/Clerk\""),
        "{straight}"
    );
    let both = client
        .post(server.url("/preferences"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("straight", "on"),
            ("recents", "off"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 400, "one setting at a time");
}
