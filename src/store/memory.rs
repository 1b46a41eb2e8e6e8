//! The in-memory backend: one process, nothing to install.
//!
//! Every store is a [`TtlMap`]: a mutex-guarded map whose entries carry an expiry, checked
//! on read against the clock and swept every so many writes so memory stays bounded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::{
    BrowserSessionStore, OneTimePurpose, OneTimeStore, PREFERENCES_TTL, PreferenceStore,
    RevocationStore, RevocationTarget, RoleSessionRecord, RoleSessionStore, SessionFacts,
    StoreError, StoreHealth, Stores,
};
use crate::clock::Clock;

/// How many writes pass between sweeps of expired entries.
const SWEEP_EVERY: u64 = 1024;

/// A map whose entries expire; clones share the same entries.
#[derive(Debug)]
pub(super) struct TtlMap<V> {
    entries: Arc<Mutex<HashMap<String, (V, SystemTime)>>>,
    clock: Arc<dyn Clock>,
    writes: Arc<AtomicU64>,
}

impl<V> Clone for TtlMap<V> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
            clock: self.clock.clone(),
            writes: self.writes.clone(),
        }
    }
}

/// How many unexpired entries a map holds, whatever its value type.
trait LiveEntries: Send + Sync + std::fmt::Debug {
    fn live_entries(&self) -> u64;
}

impl<V: Send + std::fmt::Debug> LiveEntries for TtlMap<V> {
    fn live_entries(&self) -> u64 {
        let now = self.clock.now();
        let count = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .filter(|(_, expires_at)| *expires_at > now)
            .count();
        u64::try_from(count).unwrap_or(u64::MAX)
    }
}

impl<V: Clone> TtlMap<V> {
    pub(super) fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            entries: Arc::new(Mutex::new(HashMap::new())),
            clock,
            writes: Arc::new(AtomicU64::new(0)),
        }
    }

    pub(super) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Locks the map, sweeping expired entries on every [`SWEEP_EVERY`]th write.
    fn lock_for_write(&self) -> MutexGuard<'_, HashMap<String, (V, SystemTime)>> {
        let mut entries = self.lock();
        if self.writes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            let now = self.now();
            entries.retain(|_, (_, expires_at)| *expires_at > now);
        }
        entries
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (V, SystemTime)>> {
        // A panic elsewhere cannot leave a half-written entry: every write is one insert.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn get(&self, key: &str) -> Option<V> {
        let now = self.now();
        self.lock()
            .get(key)
            .filter(|(_, expires_at)| *expires_at > now)
            .map(|(value, _)| value.clone())
    }

    pub(super) fn insert(&self, key: String, value: V, expires_at: SystemTime) {
        self.lock_for_write().insert(key, (value, expires_at));
    }

    /// Inserts unless an unexpired entry exists; returns whether it inserted.
    pub(super) fn insert_if_absent(&self, key: String, value: V, expires_at: SystemTime) -> bool {
        let now = self.now();
        let mut entries = self.lock_for_write();
        if entries.get(&key).is_some_and(|(_, exp)| *exp > now) {
            return false;
        }
        entries.insert(key, (value, expires_at));
        true
    }

    /// Removes the entry, returning its value if it had not expired.
    pub(super) fn take(&self, key: &str) -> Option<V> {
        let now = self.now();
        self.lock()
            .remove(key)
            .filter(|(_, expires_at)| *expires_at > now)
            .map(|(value, _)| value)
    }

    /// Replaces the entry with `merge(old value)`, keeping the later of the two expiries.
    pub(super) fn merge(
        &self,
        key: String,
        expires_at: SystemTime,
        merge: impl FnOnce(Option<&V>) -> V,
    ) {
        let now = self.now();
        let mut entries = self.lock_for_write();
        let current = entries.get(&key).filter(|(_, exp)| *exp > now);
        let value = merge(current.map(|(v, _)| v));
        let expires_at = current.map_or(expires_at, |(_, exp)| expires_at.max(*exp));
        entries.insert(key, (value, expires_at));
    }

    /// The unexpired values for which `keep` holds.
    pub(super) fn values_where(&self, keep: impl Fn(&V) -> bool) -> Vec<V> {
        let now = self.now();
        self.lock()
            .values()
            .filter(|(value, expires_at)| *expires_at > now && keep(value))
            .map(|(value, _)| value.clone())
            .collect()
    }
}

pub(super) fn stores(clock: Arc<dyn Clock>) -> Stores {
    let browser = TtlMap::new(clock.clone());
    let role_sessions = TtlMap::new(clock.clone());
    let one_time = TtlMap::new(clock.clone());
    let revocations = TtlMap::new(clock.clone());
    let preferences = TtlMap::new(clock);
    let maps: Vec<Box<dyn LiveEntries>> = vec![
        Box::new(browser.clone()),
        Box::new(role_sessions.clone()),
        Box::new(one_time.clone()),
        Box::new(revocations.clone()),
        Box::new(preferences.clone()),
    ];
    Stores {
        browser_sessions: BrowserSessionStore::memory(browser),
        role_sessions: Arc::new(MemoryRoleSessions(role_sessions)),
        one_time: Arc::new(MemoryOneTime(one_time)),
        revocations: Arc::new(MemoryRevocations(revocations)),
        preferences: Arc::new(MemoryPreferences(preferences)),
        health: Arc::new(MemoryHealth(maps)),
    }
}

#[derive(Debug)]
struct MemoryPreferences(TtlMap<serde_json::Value>);

#[async_trait]
impl PreferenceStore for MemoryPreferences {
    async fn get(&self, owner: &str) -> Result<Option<serde_json::Value>, StoreError> {
        Ok(self.0.get(owner))
    }

    async fn put(&self, owner: &str, document: &serde_json::Value) -> Result<(), StoreError> {
        let expires_at = self.0.now() + PREFERENCES_TTL;
        self.0
            .insert(owner.to_owned(), document.clone(), expires_at);
        Ok(())
    }
}

fn one_time_key(purpose: OneTimePurpose, key: &str) -> String {
    format!("{}:{key}", purpose.as_str())
}

#[derive(Debug)]
struct MemoryOneTime(TtlMap<String>);

#[async_trait]
impl OneTimeStore for MemoryOneTime {
    async fn insert_once(
        &self,
        purpose: OneTimePurpose,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let expires_at = self.0.now() + ttl;
        Ok(self
            .0
            .insert_if_absent(one_time_key(purpose, key), value.to_owned(), expires_at))
    }

    async fn take(&self, purpose: OneTimePurpose, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.0.take(&one_time_key(purpose, key)))
    }
}

#[derive(Debug)]
struct MemoryRoleSessions(TtlMap<RoleSessionRecord>);

#[async_trait]
impl RoleSessionStore for MemoryRoleSessions {
    async fn put(&self, record: &RoleSessionRecord) -> Result<(), StoreError> {
        let expires_at = UNIX_EPOCH + Duration::from_secs(record.expires_at);
        self.0.insert(record.id.clone(), record.clone(), expires_at);
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<RoleSessionRecord>, StoreError> {
        Ok(self.0.get(id))
    }

    async fn list_for_owner(&self, owner: &str) -> Result<Vec<RoleSessionRecord>, StoreError> {
        Ok(oldest_first(self.0.values_where(|r| r.owner == owner)))
    }

    async fn list_for_role(&self, role_arn: &str) -> Result<Vec<RoleSessionRecord>, StoreError> {
        Ok(oldest_first(
            self.0.values_where(|r| r.role_arn == role_arn),
        ))
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.0.take(id).is_some())
    }
}

fn oldest_first(mut records: Vec<RoleSessionRecord>) -> Vec<RoleSessionRecord> {
    records.sort_by(|a, b| (a.issued_at, &a.id).cmp(&(b.issued_at, &b.id)));
    records
}

/// Revocation entries: a session id maps to `u64::MAX` (everything), an owner or role to
/// its cut-off.
#[derive(Debug)]
struct MemoryRevocations(TtlMap<u64>);

fn revocation_key(target: &RevocationTarget) -> String {
    match target {
        RevocationTarget::Session(id) => format!("session:{id}"),
        RevocationTarget::Owner(owner) => format!("owner:{owner}"),
        RevocationTarget::Role(arn) => format!("role:{arn}"),
    }
}

#[async_trait]
impl RevocationStore for MemoryRevocations {
    async fn revoke(
        &self,
        target: &RevocationTarget,
        issued_before: u64,
        keep_until: SystemTime,
    ) -> Result<(), StoreError> {
        let cutoff = match target {
            RevocationTarget::Session(_) => u64::MAX,
            RevocationTarget::Owner(_) | RevocationTarget::Role(_) => issued_before,
        };
        self.0.merge(revocation_key(target), keep_until, |current| {
            current.map_or(cutoff, |c| cutoff.max(*c))
        });
        Ok(())
    }

    async fn is_revoked(&self, session: SessionFacts<'_>) -> Result<bool, StoreError> {
        let targets = [
            RevocationTarget::Session(session.id.to_owned()),
            RevocationTarget::Owner(session.owner.to_owned()),
            RevocationTarget::Role(session.role_arn.to_owned()),
        ];
        Ok(targets.iter().any(|target| {
            self.0
                .get(&revocation_key(target))
                .is_some_and(|cutoff| session.issued_at < cutoff)
        }))
    }
}

/// Memory is always reachable; its size is the maps' live entries.
#[derive(Debug)]
struct MemoryHealth(Vec<Box<dyn LiveEntries>>);

#[async_trait]
impl StoreHealth for MemoryHealth {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn entry_count(&self) -> Result<u64, StoreError> {
        Ok(self.0.iter().map(|map| map.live_entries()).sum())
    }
}
