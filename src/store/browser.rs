//! Browser sessions for tower-sessions, on either backend.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::memory::TtlMap;

/// The browser-session store handed to tower-sessions' `SessionManagerLayer`.
#[derive(Clone, Debug)]
pub struct BrowserSessionStore(Arc<dyn SessionStore>);

impl BrowserSessionStore {
    pub(super) fn memory(map: TtlMap<Record>) -> Self {
        Self(Arc::new(MemoryBrowserSessions(map)))
    }

    pub(super) fn new(store: impl SessionStore) -> Self {
        Self(Arc::new(store))
    }
}

#[async_trait]
impl SessionStore for BrowserSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.0.create(record).await
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.0.save(record).await
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.0.load(id).await
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.delete(id).await
    }
}

/// When a session record stops being valid.
pub(super) fn record_expiry(record: &Record) -> SystemTime {
    SystemTime::from(record.expiry_date)
}

#[derive(Debug)]
struct MemoryBrowserSessions(TtlMap<Record>);

#[async_trait]
impl SessionStore for MemoryBrowserSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh random id collides only by astronomical chance; draw again if it does.
        while !self
            .0
            .insert_if_absent(record.id.to_string(), record.clone(), record_expiry(record))
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.0
            .insert(record.id.to_string(), record.clone(), record_expiry(record));
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self.0.get(&id.to_string()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.take(&id.to_string());
        Ok(())
    }
}
