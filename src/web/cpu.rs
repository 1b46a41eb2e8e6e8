//! CPU-bound work (policy simulation, authorization) run off the async workers, a bounded
//! number of jobs at a time, so that one heavy request cannot stall `/healthz` or sign-ins.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::Error;

/// How long a job waits for a free slot before the request is refused as busy.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// A bounded pool of blocking threads for CPU-bound jobs.
#[derive(Debug, Clone)]
pub struct CpuPool {
    slots: Arc<Semaphore>,
}

impl CpuPool {
    /// A pool running at most `parallel` jobs at once (at least one).
    pub fn new(parallel: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(parallel.max(1))),
        }
    }

    /// A pool as wide as the machine.
    pub fn for_this_machine() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, usize::from))
    }

    /// Runs `job` on a blocking thread once a slot is free; [`Error::Busy`] when none frees
    /// up in time.
    pub async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, Error> {
        let slot = tokio::time::timeout(QUEUE_WAIT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| Error::Busy)?
            .map_err(|_| Error::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            job()
        })
        .await
        .map_err(|e| Error::Worker(e.to_string()))
    }
}
