//! The Redis backend: any number of instances share one Redis server.
//!
//! Keys live under [`KEY_PREFIX`] and carry TTLs so Redis forgets what has expired. Values
//! that expire also carry their expiry, checked against the injected clock on every read.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::browser::record_expiry;
use super::{
    BrowserSessionStore, KEY_PREFIX, OneTimePurpose, OneTimeStore, PREFERENCES_TTL,
    PreferenceStore, RevocationStore, RevocationTarget, RoleSessionRecord, RoleSessionStore,
    SessionFacts, StoreError, StoreHealth, Stores,
};
use crate::clock::{Clock, unix_millis};

/// How long one Redis command may take before the request fails closed.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// One connection manager and the clock, shared by every Redis store.
#[derive(Clone)]
struct Redis {
    connection: ConnectionManager,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redis")
    }
}

impl Redis {
    fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    fn now(&self) -> SystemTime {
        self.clock.now()
    }
}

pub(super) async fn stores(url: &str, clock: Arc<dyn Clock>) -> Result<Stores, StoreError> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(2);
    let connection = client.get_connection_manager_with_config(config).await?;
    let redis = Redis { connection, clock };
    Ok(Stores {
        browser_sessions: BrowserSessionStore::new(RedisBrowserSessions(redis.clone())),
        role_sessions: Arc::new(RedisRoleSessions(redis.clone())),
        one_time: Arc::new(RedisOneTime(redis.clone())),
        revocations: Arc::new(RedisRevocations(redis.clone())),
        preferences: Arc::new(RedisPreferences(redis.clone())),
        health: Arc::new(redis),
    })
}

#[async_trait]
impl StoreHealth for Redis {
    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.connection())
            .await?;
        Ok(())
    }

    async fn entry_count(&self) -> Result<u64, StoreError> {
        let mut connection = self.connection();
        let mut keys = connection
            .scan_match::<_, String>(format!("{KEY_PREFIX}*"))
            .await?;
        let mut count = 0_u64;
        while keys.next_item().await.transpose()?.is_some() {
            count += 1;
        }
        Ok(count)
    }
}

// ---- preferences ----------------------------------------------------------------------

#[derive(Debug)]
struct RedisPreferences(Redis);

fn preferences_key(owner: &str) -> String {
    format!("{KEY_PREFIX}preferences:{owner}")
}

#[async_trait]
impl PreferenceStore for RedisPreferences {
    async fn get(&self, owner: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let key = preferences_key(owner);
        let json: Option<String> = self.0.connection().get(&key).await?;
        json.map(|json| {
            serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                key,
                reason: e.to_string(),
            })
        })
        .transpose()
    }

    async fn put(&self, owner: &str, document: &serde_json::Value) -> Result<(), StoreError> {
        let _: () = self
            .0
            .connection()
            .set_ex(
                preferences_key(owner),
                document.to_string(),
                PREFERENCES_TTL.as_secs(),
            )
            .await?;
        Ok(())
    }
}

// ---- browser sessions ----------------------------------------------------------------

#[derive(Debug)]
struct RedisBrowserSessions(Redis);

fn browser_key(id: &Id) -> String {
    format!("{KEY_PREFIX}browser:{id}")
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

impl RedisBrowserSessions {
    /// Writes `record`; with `only_if_new`, only when the id is unused. Returns whether it wrote.
    async fn write(&self, record: &Record, only_if_new: bool) -> session_store::Result<bool> {
        let expiry = record_expiry(record);
        let key = browser_key(&record.id);
        if expiry <= self.0.now() {
            let _: () = self
                .0
                .connection()
                .del(&key)
                .await
                .map_err(|e| backend(StoreError::from(e)))?;
            return Ok(true);
        }
        let json = serde_json::to_string(record)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let mut command = redis::cmd("SET");
        command
            .arg(&key)
            .arg(json)
            .arg("PXAT")
            .arg(unix_millis(expiry));
        if only_if_new {
            command.arg("NX");
        }
        let reply: Option<String> = command
            .query_async(&mut self.0.connection())
            .await
            .map_err(|e| backend(StoreError::from(e)))?;
        Ok(reply.is_some())
    }
}

#[async_trait]
impl SessionStore for RedisBrowserSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        while !self.write(record, true).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(record, false).await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let json: Option<String> = self
            .0
            .connection()
            .get(browser_key(id))
            .await
            .map_err(|e| backend(StoreError::from(e)))?;
        let Some(json) = json else { return Ok(None) };
        let record: Record =
            serde_json::from_str(&json).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok((record_expiry(&record) > self.0.now()).then_some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let _: () = self
            .0
            .connection()
            .del(browser_key(id))
            .await
            .map_err(|e| backend(StoreError::from(e)))?;
        Ok(())
    }
}

// ---- one-time values -----------------------------------------------------------------

#[derive(Debug)]
struct RedisOneTime(Redis);

fn one_time_key(purpose: OneTimePurpose, key: &str) -> String {
    format!("{KEY_PREFIX}once:{}:{key}", purpose.as_str())
}

/// Stored as `<expiry ms>:<value>`; an entry whose expiry has passed on the caller's clock
/// counts as absent even before Redis drops it.
const INSERT_ONCE: &str = r"
local current = redis.call('GET', KEYS[1])
if current then
  local expiry = tonumber(string.match(current, '^(%d+):'))
  if expiry and expiry > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2] .. ':' .. ARGV[3], 'PX', ARGV[4])
return 1
";

const TAKE: &str = r"
local current = redis.call('GET', KEYS[1])
if current then redis.call('DEL', KEYS[1]) end
return current
";

#[async_trait]
impl OneTimeStore for RedisOneTime {
    async fn insert_once(
        &self,
        purpose: OneTimePurpose,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = self.0.now();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let inserted: i64 = redis::Script::new(INSERT_ONCE)
            .key(one_time_key(purpose, key))
            .arg(unix_millis(now))
            .arg(unix_millis(now + ttl))
            .arg(value)
            .arg(ttl_ms)
            .invoke_async(&mut self.0.connection())
            .await?;
        Ok(inserted == 1)
    }

    async fn take(&self, purpose: OneTimePurpose, key: &str) -> Result<Option<String>, StoreError> {
        let storage_key = one_time_key(purpose, key);
        let stored: Option<String> = redis::Script::new(TAKE)
            .key(&storage_key)
            .invoke_async(&mut self.0.connection())
            .await?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let (expiry, value) = stored.split_once(':').ok_or_else(|| StoreError::Corrupt {
            key: storage_key.clone(),
            reason: "no expiry prefix".into(),
        })?;
        let expiry: u64 = expiry.parse().map_err(|_| StoreError::Corrupt {
            key: storage_key,
            reason: "expiry is not a number".into(),
        })?;
        Ok((expiry > unix_millis(self.0.now())).then(|| value.to_owned()))
    }
}

// ---- role sessions -------------------------------------------------------------------

#[derive(Debug)]
struct RedisRoleSessions(Redis);

fn role_session_key(id: &str) -> String {
    format!("{KEY_PREFIX}role-session:{id}")
}

fn owner_index_key(owner: &str) -> String {
    format!("{KEY_PREFIX}role-sessions-of:{owner}")
}

fn role_index_key(role_arn: &str) -> String {
    format!("{KEY_PREFIX}role-sessions-for:{role_arn}")
}

/// Stores the record and indexes it under its owner and its role; each index lives as long
/// as its longest-lived member, and expired members are dropped on each write.
const PUT_ROLE_SESSION: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
for i = 2, 3 do
  redis.call('ZADD', KEYS[i], ARGV[3], ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. ARGV[5])
  local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIREAT', KEYS[i], (tonumber(last[2]) + 1) * 1000) end
end
return 1
";

impl RedisRoleSessions {
    fn decode(&self, key: &str, json: &str) -> Result<RoleSessionRecord, StoreError> {
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
            key: key.to_owned(),
            reason: e.to_string(),
        })
    }

    fn is_live(&self, record: &RoleSessionRecord) -> bool {
        record.expires_at > self.0.clock.unix_seconds()
    }

    /// The live records an index lists, that `belongs` still holds for, oldest first.
    async fn list_indexed(
        &self,
        index: &str,
        belongs: impl Fn(&RoleSessionRecord) -> bool,
    ) -> Result<Vec<RoleSessionRecord>, StoreError> {
        let now = self.0.clock.unix_seconds();
        let ids: Vec<String> = self
            .0
            .connection()
            .zrangebyscore(index, format!("({now}"), "+inf")
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| role_session_key(id)).collect();
        let values: Vec<Option<String>> = self.0.connection().mget(&keys).await?;
        let mut records = Vec::with_capacity(values.len());
        for (key, json) in keys.iter().zip(values) {
            let Some(json) = json else { continue };
            let record = self.decode(key, &json)?;
            if self.is_live(&record) && belongs(&record) {
                records.push(record);
            }
        }
        records.sort_by(|a, b| (a.issued_at, &a.id).cmp(&(b.issued_at, &b.id)));
        Ok(records)
    }
}

#[async_trait]
impl RoleSessionStore for RedisRoleSessions {
    async fn put(&self, record: &RoleSessionRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(record).map_err(|e| StoreError::Corrupt {
            key: role_session_key(&record.id),
            reason: e.to_string(),
        })?;
        let _: i64 = redis::Script::new(PUT_ROLE_SESSION)
            .key(role_session_key(&record.id))
            .key(owner_index_key(&record.owner))
            .key(role_index_key(&record.role_arn))
            .arg(json)
            .arg(record.expires_at.saturating_mul(1000))
            .arg(record.expires_at)
            .arg(&record.id)
            .arg(self.0.clock.unix_seconds())
            .invoke_async(&mut self.0.connection())
            .await?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<RoleSessionRecord>, StoreError> {
        let key = role_session_key(id);
        let json: Option<String> = self.0.connection().get(&key).await?;
        let Some(json) = json else { return Ok(None) };
        let record = self.decode(&key, &json)?;
        Ok(self.is_live(&record).then_some(record))
    }

    async fn list_for_owner(&self, owner: &str) -> Result<Vec<RoleSessionRecord>, StoreError> {
        self.list_indexed(&owner_index_key(owner), |r| r.owner == owner)
            .await
    }

    async fn list_for_role(&self, role_arn: &str) -> Result<Vec<RoleSessionRecord>, StoreError> {
        self.list_indexed(&role_index_key(role_arn), |r| r.role_arn == role_arn)
            .await
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let key = role_session_key(id);
        let json: Option<String> = self.0.connection().get_del(&key).await?;
        let Some(json) = json else { return Ok(false) };
        let record = self.decode(&key, &json)?;
        let _: i64 = self
            .0
            .connection()
            .zrem(owner_index_key(&record.owner), id)
            .await?;
        let _: i64 = self
            .0
            .connection()
            .zrem(role_index_key(&record.role_arn), id)
            .await?;
        Ok(self.is_live(&record))
    }
}

// ---- revocations ---------------------------------------------------------------------

#[derive(Debug)]
struct RedisRevocations(Redis);

fn revocation_key(target: &RevocationTarget) -> String {
    match target {
        RevocationTarget::Session(id) => format!("{KEY_PREFIX}revoked:session:{id}"),
        RevocationTarget::Owner(owner) => format!("{KEY_PREFIX}revoked:owner:{owner}"),
        RevocationTarget::Role(arn) => format!("{KEY_PREFIX}revoked:role:{arn}"),
    }
}

/// Raises the stored cut-off to ARGV[1] (never lowers it) and keeps the entry at least
/// until ARGV[2] (ms).
const REVOKE: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local cutoff = tonumber(ARGV[1])
if cutoff > current then current = cutoff end
local ttl = redis.call('PEXPIRETIME', KEYS[1])
local keep = tonumber(ARGV[2])
if ttl > keep then keep = ttl end
redis.call('SET', KEYS[1], string.format('%.0f', current), 'PXAT', keep)
return 1
";

#[async_trait]
impl RevocationStore for RedisRevocations {
    async fn revoke(
        &self,
        target: &RevocationTarget,
        issued_before: u64,
        keep_until: SystemTime,
    ) -> Result<(), StoreError> {
        let cutoff = match target {
            // Lua numbers are doubles: u64::MAX would not round-trip; 2^53 is past any date.
            RevocationTarget::Session(_) => 1_u64 << 53,
            RevocationTarget::Owner(_) | RevocationTarget::Role(_) => issued_before,
        };
        let _: i64 = redis::Script::new(REVOKE)
            .key(revocation_key(target))
            .arg(cutoff)
            .arg(unix_millis(keep_until))
            .invoke_async(&mut self.0.connection())
            .await?;
        Ok(())
    }

    async fn is_revoked(&self, session: SessionFacts<'_>) -> Result<bool, StoreError> {
        let keys = [
            revocation_key(&RevocationTarget::Session(session.id.to_owned())),
            revocation_key(&RevocationTarget::Owner(session.owner.to_owned())),
            revocation_key(&RevocationTarget::Role(session.role_arn.to_owned())),
        ];
        let cutoffs: Vec<Option<u64>> = self.0.connection().mget(&keys).await?;
        Ok(cutoffs
            .into_iter()
            .flatten()
            .any(|cutoff| session.issued_at < cutoff))
    }
}
