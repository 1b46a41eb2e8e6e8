//! The access portal: filtering without JS (`?q=`), favourites and recently used roles kept
//! per person in the store (so another browser of the same person sees them), and tampered
//! or forged forms changing nothing.

use crate::support::{DemoServer, hidden_input, location, page, signed_in_as};

/// `alias/Role` of each role the portal lists, in order.
fn listed(html: &str) -> Vec<String> {
    let mut roles = Vec::new();
    for account in html.split("<li class=\"account\"").skip(1) {
        let meta = account.find("<span class=\"meta\">").unwrap() + 19;
        let alias = account[meta..].split(" · ").next().unwrap();
        for role in account.split("<span class=\"role-name\"><strong>").skip(1) {
            roles.push(format!("{alias}/{}", &role[..role.find('<').unwrap()]));
        }
    }
    roles
}

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
