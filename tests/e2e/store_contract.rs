//! One contract, two backends: every store behaves the same in memory and on Redis.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rolegate::clock::{Clock, ManualClock};
use rolegate::store::{OneTimePurpose, RevocationTarget, RoleSessionRecord, SessionFacts, Stores};
use time::OffsetDateTime;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};

use crate::support::redis::RedisServer;

/// The stores under test, their clock, and (for Redis) the server kept alive.
pub(crate) struct Fixture {
    pub stores: Stores,
    pub clock: Arc<ManualClock>,
    _redis: Option<RedisServer>,
}

async fn memory() -> Fixture {
    let clock = Arc::new(ManualClock::starting_now());
    Fixture {
        stores: Stores::memory(clock.clone()),
        clock,
        _redis: None,
    }
}

async fn redis() -> Fixture {
    let server = RedisServer::start();
    let clock = Arc::new(ManualClock::starting_now());
    let stores = Stores::redis(&server.url, clock.clone())
        .await
        .expect("redis stores open");
    Fixture {
        stores,
        clock,
        _redis: Some(server),
    }
}

/// Runs each named contract against both backends as separate tests.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory_backend {
            $( #[tokio::test] async fn $name() { super::$name(super::memory().await).await } )*
        }
        mod redis_backend {
            $( #[tokio::test] async fn $name() { super::$name(super::redis().await).await } )*
        }
    };
}

contract!(
    one_time_value_is_taken_exactly_once,
    one_time_insert_is_refused_while_the_key_is_live,
    one_time_value_expires_and_its_key_can_be_reused,
    one_time_purposes_are_separate_key_spaces,
    role_session_round_trips_and_is_removed,
    role_session_is_gone_after_expiry,
    role_sessions_are_listed_per_owner_oldest_first,
    role_sessions_are_listed_per_role_oldest_first,
    revoking_one_session_leaves_others,
    revoking_an_owner_cuts_off_earlier_sessions_only,
    revoking_a_role_cuts_off_earlier_sessions_only,
    revocation_cutoff_never_moves_back,
    browser_session_round_trips_and_is_deleted,
    browser_session_create_never_overwrites_an_existing_id,
    expired_browser_session_is_not_loaded,
    store_answers_ping,
    preferences_are_kept_per_person_and_replaced_whole,
);

const HOUR: Duration = Duration::from_secs(3600);

async fn one_time_value_is_taken_exactly_once(f: Fixture) {
    let once = &f.stores.one_time;
    assert!(
        once.insert_once(OneTimePurpose::OidcState, "s1", "corp", HOUR)
            .await
            .unwrap()
    );
    assert_eq!(
        once.take(OneTimePurpose::OidcState, "s1")
            .await
            .unwrap()
            .as_deref(),
        Some("corp")
    );
    assert_eq!(
        once.take(OneTimePurpose::OidcState, "s1").await.unwrap(),
        None
    );
}

async fn one_time_insert_is_refused_while_the_key_is_live(f: Fixture) {
    let once = &f.stores.one_time;
    assert!(
        once.insert_once(OneTimePurpose::SamlAssertionId, "_a1", "x", HOUR)
            .await
            .unwrap()
    );
    assert!(
        !once
            .insert_once(OneTimePurpose::SamlAssertionId, "_a1", "y", HOUR)
            .await
            .unwrap()
    );
    // The first value is kept.
    assert_eq!(
        once.take(OneTimePurpose::SamlAssertionId, "_a1")
            .await
            .unwrap()
            .as_deref(),
        Some("x")
    );
}

async fn one_time_value_expires_and_its_key_can_be_reused(f: Fixture) {
    let once = &f.stores.one_time;
    assert!(
        once.insert_once(
            OneTimePurpose::SamlRequestId,
            "r",
            "v1",
            Duration::from_secs(60)
        )
        .await
        .unwrap()
    );
    f.clock.advance(Duration::from_secs(61));
    assert_eq!(
        once.take(OneTimePurpose::SamlRequestId, "r").await.unwrap(),
        None
    );
    assert!(
        once.insert_once(
            OneTimePurpose::SamlRequestId,
            "r",
            "v2",
            Duration::from_secs(60)
        )
        .await
        .unwrap()
    );
    f.clock.advance(Duration::from_secs(61));
    assert!(
        once.insert_once(
            OneTimePurpose::SamlRequestId,
            "r",
            "v3",
            Duration::from_secs(60)
        )
        .await
        .unwrap()
    );
    assert_eq!(
        once.take(OneTimePurpose::SamlRequestId, "r")
            .await
            .unwrap()
            .as_deref(),
        Some("v3")
    );
}

async fn one_time_purposes_are_separate_key_spaces(f: Fixture) {
    let once = &f.stores.one_time;
    assert!(
        once.insert_once(OneTimePurpose::OidcState, "k", "a", HOUR)
            .await
            .unwrap()
    );
    assert!(
        once.insert_once(OneTimePurpose::DemoAuthorizationCode, "k", "b", HOUR)
            .await
            .unwrap()
    );
    assert_eq!(
        once.take(OneTimePurpose::DemoAuthorizationCode, "k")
            .await
            .unwrap()
            .as_deref(),
        Some("b")
    );
    assert_eq!(
        once.take(OneTimePurpose::OidcState, "k")
            .await
            .unwrap()
            .as_deref(),
        Some("a")
    );
}

fn record(
    clock: &ManualClock,
    id: &str,
    owner: &str,
    issued_ago: u64,
    lifetime: u64,
) -> RoleSessionRecord {
    let now = clock.unix_seconds();
    RoleSessionRecord {
        id: id.to_owned(),
        owner: owner.to_owned(),
        role_arn: "arn:aws:iam::123456789012:role/Admin".to_owned(),
        issued_at: now - issued_ago,
        expires_at: now - issued_ago + lifetime,
        payload: serde_json::json!({"tags": {"team": "platform"}}),
    }
}

async fn preferences_are_kept_per_person_and_replaced_whole(f: Fixture) {
    let preferences = &f.stores.preferences;
    assert_eq!(preferences.get("corp/alice").await.unwrap(), None);
    let first = serde_json::json!({"favourites": ["role:arn:aws:iam::111122223333:role/Dev"]});
    preferences.put("corp/alice", &first).await.unwrap();
    assert_eq!(preferences.get("corp/alice").await.unwrap(), Some(first));
    assert_eq!(
        preferences.get("corp/bob").await.unwrap(),
        None,
        "per person"
    );
    let second = serde_json::json!({"recents_off": true});
    preferences.put("corp/alice", &second).await.unwrap();
    assert_eq!(preferences.get("corp/alice").await.unwrap(), Some(second));
}

async fn role_session_round_trips_and_is_removed(f: Fixture) {
    let sessions = &f.stores.role_sessions;
    let r = record(&f.clock, "ASIA1", "corp/alice", 0, 3600);
    sessions.put(&r).await.unwrap();
    assert_eq!(sessions.get("ASIA1").await.unwrap(), Some(r));
    assert!(sessions.remove("ASIA1").await.unwrap());
    assert!(!sessions.remove("ASIA1").await.unwrap());
    assert_eq!(sessions.get("ASIA1").await.unwrap(), None);
    assert!(
        sessions
            .list_for_owner("corp/alice")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn role_session_is_gone_after_expiry(f: Fixture) {
    let sessions = &f.stores.role_sessions;
    sessions
        .put(&record(&f.clock, "ASIA2", "corp/bob", 0, 900))
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(901));
    assert_eq!(sessions.get("ASIA2").await.unwrap(), None);
    assert!(
        sessions
            .list_for_owner("corp/bob")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn role_sessions_are_listed_per_owner_oldest_first(f: Fixture) {
    let sessions = &f.stores.role_sessions;
    sessions
        .put(&record(&f.clock, "ASIA-new", "corp/alice", 10, 3600))
        .await
        .unwrap();
    sessions
        .put(&record(&f.clock, "ASIA-old", "corp/alice", 100, 3600))
        .await
        .unwrap();
    sessions
        .put(&record(&f.clock, "ASIA-short", "corp/alice", 50, 40))
        .await
        .unwrap();
    sessions
        .put(&record(&f.clock, "ASIA-bob", "corp/bob", 5, 3600))
        .await
        .unwrap();
    let ids: Vec<String> = sessions
        .list_for_owner("corp/alice")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        ids,
        ["ASIA-old", "ASIA-new"],
        "expired ASIA-short and bob's session excluded"
    );
}

async fn role_sessions_are_listed_per_role_oldest_first(f: Fixture) {
    let sessions = &f.stores.role_sessions;
    let mut reader = record(&f.clock, "ASIA-reader", "corp/alice", 1, 3600);
    reader.role_arn = "arn:aws:iam::123456789012:role/Reader".to_owned();
    for put in [
        record(&f.clock, "ASIA-a", "corp/alice", 10, 3600),
        record(&f.clock, "ASIA-b", "corp/bob", 100, 3600),
        record(&f.clock, "ASIA-gone", "corp/bob", 50, 40),
        reader,
    ] {
        sessions.put(&put).await.unwrap();
    }
    let ids: Vec<String> = sessions
        .list_for_role("arn:aws:iam::123456789012:role/Admin")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        ids,
        ["ASIA-b", "ASIA-a"],
        "expired and other roles' sessions excluded"
    );
    assert!(sessions.remove("ASIA-b").await.unwrap());
    let after = sessions
        .list_for_role("arn:aws:iam::123456789012:role/Admin")
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
}

fn facts<'a>(r: &'a RoleSessionRecord) -> SessionFacts<'a> {
    SessionFacts {
        id: &r.id,
        owner: &r.owner,
        role_arn: &r.role_arn,
        issued_at: r.issued_at,
    }
}

fn keep_until(clock: &ManualClock) -> SystemTime {
    clock.now() + 12 * HOUR
}

async fn revoking_one_session_leaves_others(f: Fixture) {
    let revocations = &f.stores.revocations;
    let a = record(&f.clock, "ASIA-a", "corp/alice", 0, 3600);
    let b = record(&f.clock, "ASIA-b", "corp/alice", 0, 3600);
    assert!(!revocations.is_revoked(facts(&a)).await.unwrap());
    revocations
        .revoke(
            &RevocationTarget::Session("ASIA-a".into()),
            0,
            keep_until(&f.clock),
        )
        .await
        .unwrap();
    assert!(revocations.is_revoked(facts(&a)).await.unwrap());
    assert!(!revocations.is_revoked(facts(&b)).await.unwrap());
}

async fn revoking_an_owner_cuts_off_earlier_sessions_only(f: Fixture) {
    let revocations = &f.stores.revocations;
    let before = record(&f.clock, "ASIA-1", "corp/alice", 60, 3600);
    let other_owner = record(&f.clock, "ASIA-2", "corp/bob", 60, 3600);
    let cutoff = f.clock.unix_seconds() - 30;
    revocations
        .revoke(
            &RevocationTarget::Owner("corp/alice".into()),
            cutoff,
            keep_until(&f.clock),
        )
        .await
        .unwrap();
    let after = record(&f.clock, "ASIA-3", "corp/alice", 0, 3600);
    assert!(revocations.is_revoked(facts(&before)).await.unwrap());
    assert!(
        !revocations.is_revoked(facts(&after)).await.unwrap(),
        "issued after the cut-off"
    );
    assert!(!revocations.is_revoked(facts(&other_owner)).await.unwrap());
}

async fn revoking_a_role_cuts_off_earlier_sessions_only(f: Fixture) {
    let revocations = &f.stores.revocations;
    let mut old = record(&f.clock, "ASIA-r1", "corp/alice", 100, 3600);
    old.role_arn = "arn:aws:iam::210987654321:role/ReadOnly".into();
    let other_role = record(&f.clock, "ASIA-r2", "corp/alice", 100, 3600);
    revocations
        .revoke(
            &RevocationTarget::Role(old.role_arn.clone()),
            f.clock.unix_seconds(),
            keep_until(&f.clock),
        )
        .await
        .unwrap();
    assert!(revocations.is_revoked(facts(&old)).await.unwrap());
    assert!(!revocations.is_revoked(facts(&other_role)).await.unwrap());
}

async fn revocation_cutoff_never_moves_back(f: Fixture) {
    let revocations = &f.stores.revocations;
    let session = record(&f.clock, "ASIA-m", "corp/carol", 50, 3600);
    let target = RevocationTarget::Owner("corp/carol".into());
    let now = f.clock.unix_seconds();
    revocations
        .revoke(&target, now, keep_until(&f.clock))
        .await
        .unwrap();
    revocations
        .revoke(&target, now - 100, keep_until(&f.clock))
        .await
        .unwrap();
    assert!(
        revocations.is_revoked(facts(&session)).await.unwrap(),
        "the later cut-off stands"
    );
}

fn browser_record(expiry: OffsetDateTime) -> Record {
    let mut data = HashMap::new();
    data.insert(
        "identity".to_owned(),
        serde_json::json!({"subject": "alice"}),
    );
    Record {
        id: Id::default(),
        data,
        expiry_date: expiry,
    }
}

fn offset(clock: &ManualClock, ahead: Duration) -> OffsetDateTime {
    OffsetDateTime::from(clock.now() + ahead)
}

async fn browser_session_round_trips_and_is_deleted(f: Fixture) {
    let store = &f.stores.browser_sessions;
    let mut record = browser_record(offset(&f.clock, HOUR));
    store.create(&mut record).await.unwrap();
    assert_eq!(
        store.load(&record.id).await.unwrap().as_ref(),
        Some(&record)
    );
    record.data.insert("csrf".into(), serde_json::json!("t"));
    store.save(&record).await.unwrap();
    assert_eq!(
        store.load(&record.id).await.unwrap().unwrap().data["csrf"],
        "t"
    );
    store.delete(&record.id).await.unwrap();
    assert_eq!(store.load(&record.id).await.unwrap(), None);
}

async fn browser_session_create_never_overwrites_an_existing_id(f: Fixture) {
    let store = &f.stores.browser_sessions;
    let mut first = browser_record(offset(&f.clock, HOUR));
    store.create(&mut first).await.unwrap();
    let mut second = browser_record(offset(&f.clock, HOUR));
    second.id = first.id;
    second
        .data
        .insert("identity".into(), serde_json::json!({"subject": "mallory"}));
    store.create(&mut second).await.unwrap();
    assert_ne!(second.id, first.id, "a colliding id is replaced");
    assert_eq!(
        store.load(&first.id).await.unwrap().unwrap().data["identity"]["subject"],
        "alice"
    );
}

async fn expired_browser_session_is_not_loaded(f: Fixture) {
    let store = &f.stores.browser_sessions;
    let mut record = browser_record(offset(&f.clock, Duration::from_secs(60)));
    store.create(&mut record).await.unwrap();
    f.clock.advance(Duration::from_secs(61));
    assert_eq!(store.load(&record.id).await.unwrap(), None);
    // Saving with an expiry in the past removes it rather than reviving it.
    record.expiry_date = OffsetDateTime::from(UNIX_EPOCH + Duration::from_secs(1));
    store.save(&record).await.unwrap();
    assert_eq!(store.load(&record.id).await.unwrap(), None);
}

async fn store_answers_ping(f: Fixture) {
    f.stores.health.ping().await.unwrap();
}
