//! Hot reload: the directory and rules are reloaded when their files change (checked by
//! polling, which works on every filesystem) and on SIGHUP. A reload that fails validation
//! keeps the last good mappings serving; the failure is logged and kept for the admin page.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use super::Mappings;
use crate::clock::Clock;

/// How often file changes are looked for.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The outcome of the last reload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadStatus {
    /// How many times the mappings were (re)loaded successfully, the first load included.
    pub generation: u64,
    /// When the mappings serving now were loaded.
    pub loaded_at: Option<SystemTime>,
    /// The problems of the last attempt, when it failed (the previous mappings still serve).
    pub last_error: Option<Vec<String>>,
    /// When the last attempt failed.
    pub failed_at: Option<SystemTime>,
}

/// Where the mappings come from.
#[derive(Debug, Clone)]
enum Source {
    /// Files: reloadable.
    Files { directory: PathBuf, rules: PathBuf },
    /// Built into the binary (the demo): fixed.
    Builtin,
}

/// The mappings serving now, swapped atomically on reload.
#[derive(Debug)]
pub struct MappingsHandle {
    current: RwLock<Arc<Mappings>>,
    status: RwLock<ReloadStatus>,
    source: Source,
    clock: Arc<dyn Clock>,
}

/// A file's identity for change detection: path, modification time, length.
type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

impl MappingsHandle {
    /// Loads the mappings from files; fails with every problem when they do not load.
    pub fn load(
        directory: &Path,
        rules: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Vec<String>> {
        let mappings = Mappings::load(directory, rules)?;
        let source = Source::Files {
            directory: directory.to_owned(),
            rules: rules.to_owned(),
        };
        Ok(Self::new(mappings, source, clock))
    }

    /// Fixed mappings (the demo's built-in sample).
    pub fn fixed(mappings: Mappings, clock: Arc<dyn Clock>) -> Self {
        Self::new(mappings, Source::Builtin, clock)
    }

    fn new(mappings: Mappings, source: Source, clock: Arc<dyn Clock>) -> Self {
        let status = ReloadStatus {
            generation: 1,
            loaded_at: Some(clock.now()),
            ..ReloadStatus::default()
        };
        Self {
            current: RwLock::new(Arc::new(mappings)),
            status: RwLock::new(status),
            source,
            clock,
        }
    }

    /// The mappings serving now.
    pub fn current(&self) -> Arc<Mappings> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The outcome of the last reload.
    pub fn status(&self) -> ReloadStatus {
        self.status
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Reloads now: on success the new mappings serve; on failure the old ones keep serving
    /// and the problems are returned (and kept in the status).
    pub fn reload(&self) -> Result<(), Vec<String>> {
        let Source::Files { directory, rules } = &self.source else {
            return Ok(());
        };
        let now = self.clock.now();
        let mut status = self
            .status
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match Mappings::load(directory, rules) {
            Ok(mappings) => {
                *self
                    .current
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(mappings);
                status.generation += 1;
                status.loaded_at = Some(now);
                status.last_error = None;
                status.failed_at = None;
                Ok(())
            }
            Err(problems) => {
                status.last_error = Some(problems.clone());
                status.failed_at = Some(now);
                Err(problems)
            }
        }
    }

    /// The files the mappings come from, with their modification times and sizes.
    fn fingerprint(&self) -> Fingerprint {
        let Source::Files { directory, rules } = &self.source else {
            return Vec::new();
        };
        let mut files = Vec::new();
        for root in [directory, rules] {
            let entries: Vec<PathBuf> = match std::fs::read_dir(root) {
                Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
                Err(_) => vec![root.clone()],
            };
            for path in entries {
                let metadata = std::fs::metadata(&path).ok();
                let modified = metadata.as_ref().and_then(|m| m.modified().ok());
                files.push((path, modified, metadata.map_or(0, |m| m.len())));
            }
        }
        files.sort();
        files
    }

    /// Reloads whenever the files change (polling every `interval`) and on SIGHUP, until the
    /// task is dropped. Does nothing for fixed mappings.
    pub fn spawn_watcher(self: Arc<Self>, interval: Duration) {
        if matches!(self.source, Source::Builtin) {
            return;
        }
        // The baseline is taken now, not when the task first runs, so a change made in between
        // is not mistaken for the starting state.
        let mut seen = self.fingerprint();
        tokio::spawn(async move {
            let mut hangups = hangup_signals();
            let mut ticker = tokio::time::interval(interval);
            loop {
                let cause = tokio::select! {
                    _ = ticker.tick() => {
                        let now = self.fingerprint();
                        if now == seen {
                            continue;
                        }
                        seen = now;
                        "files changed"
                    }
                    Some(()) = next_hangup(&mut hangups) => {
                        seen = self.fingerprint();
                        "SIGHUP"
                    }
                };
                self.log_reload(cause);
            }
        });
    }

    fn log_reload(&self, cause: &str) {
        match self.reload() {
            Ok(()) => {
                let current = self.current();
                tracing::info!(
                    cause,
                    accounts = current.directory.accounts().len(),
                    rules = current.rules.rules().len(),
                    generation = self.status().generation,
                    "mappings reloaded"
                );
            }
            Err(problems) => {
                tracing::warn!(cause, problems = %problems.join("; "), "mappings reload failed; the previous mappings keep serving");
            }
        }
    }
}

#[cfg(unix)]
fn hangup_signals() -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| tracing::error!(error = %e, "cannot listen for SIGHUP; reloads follow file changes only"))
        .ok()
}

#[cfg(unix)]
async fn next_hangup(signals: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signals {
        Some(signals) => signals.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
fn hangup_signals() -> Option<()> {
    None
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Option<()>) -> Option<()> {
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const DIRECTORY: &str = "accounts:\n  - id: \"123456789012\"\n    alias: shop\n    roles:\n      - name: Admin\n        trust_policy: {\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"sts:AssumeRoleWithWebIdentity\"}]}\n";
    const ONE_RULE: &str =
        "rules:\n  - id: a\n    when: { group: x }\n    then: { account: shop, role: Admin }\n";
    const TWO_RULES: &str = "rules:\n  - id: a\n    when: { group: x }\n    then: { account: shop, role: Admin }\n  - id: b\n    when: { group: z }\n    then: { account: shop, role: Admin }\n";
    const BROKEN: &str = "rules:\n  - id: a\n    when: { group: { regex: '(' } }\n    then: { account: shop, role: Admin }\n";

    fn setup() -> (tempfile::TempDir, Arc<MappingsHandle>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("directory")).unwrap();
        std::fs::create_dir_all(dir.path().join("rules")).unwrap();
        std::fs::write(dir.path().join("directory/a.yaml"), DIRECTORY).unwrap();
        std::fs::write(dir.path().join("rules/r.yaml"), ONE_RULE).unwrap();
        let clock = Arc::new(ManualClock::starting_now());
        let handle = MappingsHandle::load(
            &dir.path().join("directory"),
            &dir.path().join("rules"),
            clock,
        )
        .unwrap();
        (dir, Arc::new(handle))
    }

    #[test]
    fn reload_swaps_in_valid_changes() {
        let (dir, handle) = setup();
        assert_eq!(handle.current().rules.rules().len(), 1);
        std::fs::write(dir.path().join("rules/r.yaml"), TWO_RULES).unwrap();
        handle.reload().unwrap();
        assert_eq!(handle.current().rules.rules().len(), 2);
        assert_eq!(handle.status().generation, 2);
    }

    #[test]
    fn failed_reload_keeps_the_last_good_mappings_and_says_why() {
        let (dir, handle) = setup();
        std::fs::write(dir.path().join("rules/r.yaml"), BROKEN).unwrap();
        let problems = handle.reload().unwrap_err();
        assert!(
            problems[0].contains("r.yaml:3: group: invalid regex"),
            "{problems:?}"
        );
        assert_eq!(
            handle.current().rules.rules().len(),
            1,
            "the old rules keep serving"
        );
        let status = handle.status();
        assert_eq!(status.generation, 1);
        assert!(status.last_error.is_some() && status.failed_at.is_some());
        std::fs::write(dir.path().join("rules/r.yaml"), TWO_RULES).unwrap();
        handle.reload().unwrap();
        assert_eq!(
            handle.status().last_error,
            None,
            "a good reload clears the error"
        );
    }

    #[test]
    fn fingerprint_notices_changes() {
        let (dir, handle) = setup();
        let before = handle.fingerprint();
        std::fs::write(dir.path().join("rules/r.yaml"), TWO_RULES).unwrap();
        assert_ne!(
            handle.fingerprint(),
            before,
            "a longer file changes the fingerprint"
        );
        std::fs::write(dir.path().join("rules/new.yaml"), "rules: []\n").unwrap();
        assert_eq!(handle.fingerprint().len(), before.len() + 1);
    }

    #[tokio::test]
    async fn watcher_reloads_when_a_file_changes() {
        let (dir, handle) = setup();
        handle.clone().spawn_watcher(Duration::from_millis(50));
        std::fs::write(dir.path().join("rules/r.yaml"), TWO_RULES).unwrap();
        // Bounded wait for the background task: at most 5 s, normally one poll.
        for _ in 0..100 {
            if handle.status().generation == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(handle.current().rules.rules().len(), 2);
    }
}
