//! What a request brings to evaluation: the action, the resource, the caller and the
//! condition keys.

use std::sync::Arc;

use super::principal::Principal;

/// Condition keys and their values. Key names are case-insensitive (stored lowercased);
/// values are kept as given, and every key may hold several values. A context may sit on a
/// shared base (keys common to many requests, such as a person's claims); its own keys win.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// A randomly seeded fast hasher: a context is short-lived and holds at most a request's
    /// worth of keys.
    keys: foldhash::HashMap<String, Vec<String>>,
    base: Option<Arc<RequestContext>>,
}

impl RequestContext {
    /// An empty context over `base`: cheap to make, whatever `base` holds.
    pub fn over(base: Arc<RequestContext>) -> Self {
        Self {
            // Room for the handful of per-request keys laid over a base, without regrowing.
            keys: foldhash::HashMap::with_capacity_and_hasher(
                8,
                foldhash::fast::RandomState::default(),
            ),
            base: Some(base),
        }
    }

    /// Sets `key` to `values`, replacing what it held.
    pub fn insert(&mut self, key: impl Into<String>, values: Vec<String>) {
        let mut key = key.into();
        key.make_ascii_lowercase();
        self.keys.insert(key, values);
    }

    /// Sets `key` to one value.
    pub fn insert_one(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.insert(key, vec![value.into()]);
    }

    /// The values of `key`, which must already be lowercase (compiled policies store their
    /// keys lowercased).
    pub fn values(&self, lowercase_key: &str) -> Option<&[String]> {
        match self.keys.get(lowercase_key) {
            Some(values) => Some(values.as_slice()),
            None => self
                .base
                .as_deref()
                .and_then(|base| base.values(lowercase_key)),
        }
    }

    /// The values of `key`, in any letter case.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values(&key.to_ascii_lowercase())
    }

    /// Whether no key is set, here or in the base.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.base.as_deref().is_none_or(RequestContext::is_empty)
    }
}

/// One request to authorize.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `service:Action`, e.g. `s3:GetObject`.
    pub action: &'a str,
    /// The resource ARN, or `*`.
    pub resource: &'a str,
    /// Who is asking.
    pub principal: &'a Principal,
    /// The condition keys.
    pub context: &'a RequestContext,
    /// The account that owns the resource when its ARN does not say (S3 buckets); with
    /// neither, the resource is taken to be in the caller's account.
    pub resource_account: Option<&'a str>,
}
