//! The one tokio runtime every client, and every language binding, shares.
//!
//! Bindings never see tokio: the futures core hands out only wait on channels, so Python's
//! asyncio, Node's libuv, a JVM thread or a C caller can wait on them their own way, while the
//! MQTT sessions run here.
//!
//! Two details matter to the bindings:
//! - **fork**: a child created by `fork()` inherits the runtime's memory but not its threads.
//!   The runtime remembers the pid it was built in and is rebuilt (the inherited one is leaked,
//!   never dropped: dropping would wait for threads that do not exist) when used from a child.
//! - **shutdown**: Mono never exits while a thread that called into managed code is alive, and
//!   tokio's workers never end on their own, so [`shutdown`] stops them explicitly.

use std::sync::Mutex;
use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};

struct Owned {
    runtime: Runtime,
    pid: u32,
}

static RUNTIME: Mutex<Option<Owned>> = Mutex::new(None);

/// Worker threads: `IOTSEC_WORKER_THREADS` or 2. A device SDK needs little: one thread drives
/// many MQTT sessions, and a second keeps a slow callback from stalling them.
fn worker_threads() -> usize {
    std::env::var("IOTSEC_WORKER_THREADS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(2)
}

fn build() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("iotsec-worker")
        .enable_all()
        .build()
        .expect("iotsec: cannot start the tokio runtime (out of threads or file descriptors?)")
}

/// A handle to the shared runtime, starting it on first use (and again after [`shutdown`] or
/// in a forked child).
pub fn handle() -> Handle {
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    match slot.as_ref() {
        Some(owned) if owned.pid == pid => owned.runtime.handle().clone(),
        _ => {
            if let Some(stale) = slot.take() {
                // Inherited across fork(): its threads are gone, so it must not be dropped.
                std::mem::forget(stale);
            }
            let runtime = build();
            let handle = runtime.handle().clone();
            *slot = Some(Owned { runtime, pid });
            handle
        }
    }
}

/// Stops the runtime's threads, waiting at most `timeout` for running tasks. Clients still
/// open are cut off (their pending sends fail). Safe to call more than once; a later use of
/// iotsec starts a new runtime.
pub fn shutdown(timeout: Duration) {
    let owned = RUNTIME.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(owned) = owned {
        if owned.pid == std::process::id() {
            owned.runtime.shutdown_timeout(timeout);
        } else {
            std::mem::forget(owned);
        }
    }
}

/// Runs `future` to completion on the calling thread, for the blocking APIs (C, Java, C#).
///
/// The future only waits on channels fed by the shared runtime, so no tokio context is needed
/// here. Must not be called from inside an async task (it would block that task's thread).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures_lite_block_on(future)
}

/// A minimal thread-parking executor: enough for futures that wait on channels.
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    use std::thread::{self, Thread};

    struct Unparker(Thread);
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }

    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_on_waits_for_work_on_the_runtime() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        handle().spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = tx.send(42);
        });
        assert_eq!(block_on(rx).unwrap(), 42);
    }
}
