//! A thread reading destination files while the agent runs under a fault: every read must see
//! a complete, valid file (atomic writes, last good file kept).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Whether a file's text is a complete, valid destination.
pub(crate) type Check = fn(&str) -> bool;

/// Reads the files in a loop and records every read that is missing, empty, partial or fails
/// its check.
pub(crate) struct Reader {
    stop: Arc<AtomicBool>,
    reads: Arc<AtomicUsize>,
    bad: Arc<AtomicUsize>,
    /// The first few bad reads (path and size), for the failure message.
    samples: Arc<Mutex<Vec<String>>>,
    handle: Option<JoinHandle<()>>,
}

impl Reader {
    pub(crate) fn start(files: Vec<(PathBuf, Check)>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicUsize::new(0));
        let bad = Arc::new(AtomicUsize::new(0));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let handle = {
            let (stop, reads, bad, samples) =
                (stop.clone(), reads.clone(), bad.clone(), samples.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for (path, valid) in &files {
                        let text = std::fs::read_to_string(path);
                        reads.fetch_add(1, Ordering::Relaxed);
                        if text.as_deref().is_ok_and(valid) {
                            continue;
                        }
                        if bad.fetch_add(1, Ordering::Relaxed) < 10
                            && let Ok(mut s) = samples.lock()
                        {
                            s.push(format!(
                                "{}: {}",
                                path.display(),
                                text.map(|t| format!("{} bytes", t.len()))
                                    .unwrap_or_else(|e| e.to_string())
                            ));
                        }
                    }
                    // Leaves the (shared, loaded) cores to the agent and the server.
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        Self {
            stop,
            reads,
            bad,
            samples,
            handle: Some(handle),
        }
    }

    /// Stops the reader and asserts that every read saw a complete file.
    pub(crate) fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
        let reads = self.reads.load(Ordering::Relaxed);
        let bad = self.bad.load(Ordering::Relaxed);
        let samples = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        assert!(reads > 0);
        assert_eq!(
            bad, 0,
            "{bad} bad reads of {reads}, first ones: {samples:?}"
        );
        eprintln!("reader: {reads} reads, all complete");
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
