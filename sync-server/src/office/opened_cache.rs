//! Cases opened for staff, kept in memory for a short while. A case page asks for every page
//! image, each signature and the inventory in separate requests; opening the whole envelope
//! for each of them (reading and decrypting every part, re-rendering every signature) made a
//! case with many pages slow to show and kept the server busy. The plaintext stays in this
//! process only (never on disk), for at most `ttl_seconds` after it was opened, for at most
//! `capacity` cases at once, and is zeroized when the last request using it is done.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::ServerError;

/// How long an opened case stays in memory, and how many at once, by default: long enough for
/// one person to look through a case, short enough that little plaintext lingers.
pub const DEFAULT_TTL_SECONDS: i64 = 120;
pub const DEFAULT_CAPACITY: usize = 4;

struct Entry<T> {
    envelope_id: String,
    opened_at: i64,
    /// Filled once; requests that arrive while it is being opened wait for the same opening.
    case: Arc<OnceCell<Arc<T>>>,
}

/// Opened cases by envelope id; generic so its keeping rules can be tested on their own.
pub struct OpenedCases<T> {
    entries: Mutex<VecDeque<Entry<T>>>,
    capacity: usize,
    ttl_seconds: i64,
}

impl<T: Send + Sync + 'static> OpenedCases<T> {
    pub fn new(capacity: usize, ttl_seconds: i64) -> Self {
        OpenedCases {
            entries: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            ttl_seconds,
        }
    }

    /// The case of `envelope_id`, opened by `open` (on a blocking thread) unless a recent
    /// opening is still kept. A failed opening is not kept: the next request tries again.
    pub async fn get_or_open<F>(
        &self,
        envelope_id: &str,
        now: i64,
        open: F,
    ) -> Result<Arc<T>, ServerError>
    where
        F: FnOnce() -> Result<T, ServerError> + Send + 'static,
    {
        let cell = self.slot(envelope_id, now);
        cell.get_or_try_init(|| async move {
            tokio::task::spawn_blocking(open)
                .await
                .map_err(|e| ServerError::Storage(format!("opening a case stopped: {e}")))?
                .map(Arc::new)
        })
        .await
        .cloned()
    }

    /// How many cases are kept now (expired ones included until the next request).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn slot(&self, envelope_id: &str, now: i64) -> Arc<OnceCell<Arc<T>>> {
        let mut entries = self.lock();
        // A clock that went back counts as expired too: better to open again than to keep.
        entries.retain(|e| e.opened_at <= now && now - e.opened_at < self.ttl_seconds);
        if let Some(entry) = entries.iter().find(|e| e.envelope_id == envelope_id) {
            return entry.case.clone();
        }
        let case = Arc::new(OnceCell::new());
        entries.push_back(Entry {
            envelope_id: envelope_id.to_owned(),
            opened_at: now,
            case: case.clone(),
        });
        while entries.len() > self.capacity {
            entries.pop_front();
        }
        case
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry<T>>> {
        // The queue holds no invariant a panicking holder could break halfway.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting_open(
        opens: &Arc<AtomicUsize>,
        envelope_id: &'static str,
    ) -> impl FnOnce() -> Result<String, ServerError> + Send + 'static {
        let opens = opens.clone();
        move || {
            opens.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(20));
            Ok(envelope_id.to_owned())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_case_is_opened_once_while_kept_and_again_after_it_expires() {
        let cache = Arc::new(OpenedCases::<String>::new(4, 120));
        let opens = Arc::new(AtomicUsize::new(0));
        // Eight requests at once (a page with eight images): one opening.
        let requests: Vec<_> = (0..8)
            .map(|_| {
                let cache = cache.clone();
                let open = counting_open(&opens, "E1");
                tokio::spawn(async move { cache.get_or_open("E1", 1000, open).await })
            })
            .collect();
        for request in requests {
            assert_eq!(request.await.unwrap().unwrap().as_str(), "E1");
        }
        assert_eq!(opens.load(Ordering::SeqCst), 1);
        cache
            .get_or_open("E1", 1119, counting_open(&opens, "E1"))
            .await
            .unwrap();
        assert_eq!(opens.load(Ordering::SeqCst), 1);
        cache
            .get_or_open("E1", 1120, counting_open(&opens, "E1"))
            .await
            .unwrap();
        assert_eq!(opens.load(Ordering::SeqCst), 2, "expired after 120 s");
        // A clock set back does not keep plaintext longer.
        cache
            .get_or_open("E1", 900, counting_open(&opens, "E1"))
            .await
            .unwrap();
        assert_eq!(opens.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn no_more_than_capacity_cases_are_kept() {
        let cache = OpenedCases::<String>::new(2, 120);
        let opens = Arc::new(AtomicUsize::new(0));
        for id in ["E1", "E2", "E3"] {
            cache
                .get_or_open(id, 1000, counting_open(&opens, "E"))
                .await
                .unwrap();
        }
        assert_eq!(cache.len(), 2);
        // E1 was dropped first; E3 is still kept.
        cache
            .get_or_open("E3", 1001, counting_open(&opens, "E"))
            .await
            .unwrap();
        assert_eq!(opens.load(Ordering::SeqCst), 3);
        cache
            .get_or_open("E1", 1001, counting_open(&opens, "E"))
            .await
            .unwrap();
        assert_eq!(opens.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_failed_opening_is_not_kept() {
        let cache = OpenedCases::<String>::new(2, 120);
        let failed = cache
            .get_or_open("E1", 1000, || Err::<String, _>(ServerError::NotFound))
            .await;
        assert!(matches!(failed, Err(ServerError::NotFound)));
        let opens = Arc::new(AtomicUsize::new(0));
        cache
            .get_or_open("E1", 1001, counting_open(&opens, "E1"))
            .await
            .unwrap();
        assert_eq!(opens.load(Ordering::SeqCst), 1);
    }
}
