//! A TCP proxy on 127.0.0.1 that delays every byte by a fixed time in each direction, so a
//! loopback broker behaves like one across a network (IoT Hub is tens of milliseconds away).
//! TLS passes through untouched. When the upstream end closes or cannot be reached (the broker
//! is being restarted), the client's connection is closed too.

use std::collections::VecDeque;
use std::net::TcpListener as StdListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// A running latency proxy; it stops when dropped.
pub struct LatencyProxy {
    /// The port clients connect to.
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl LatencyProxy {
    /// Listens on a free port of 127.0.0.1 and forwards each connection to
    /// `127.0.0.1:upstream_port`, delaying data by `delay` each way (a round trip costs twice
    /// `delay`).
    pub fn start(upstream_port: u16, delay: Duration) -> std::io::Result<LatencyProxy> {
        let listener = StdListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        std::thread::Builder::new().name("iotsec-latency-proxy".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("proxy runtime");
            rt.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else { return };
                while !thread_stop.load(Ordering::SeqCst) {
                    let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
                    let Ok(Ok((client, _))) = accepted else { continue };
                    let stop = thread_stop.clone();
                    tokio::spawn(async move {
                        let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)).await else { return };
                        let _ = client.set_nodelay(true);
                        let _ = upstream.set_nodelay(true);
                        let (cr, cw) = client.into_split();
                        let (ur, uw) = upstream.into_split();
                        let a = tokio::spawn(pipe(cr, uw, delay, stop.clone()));
                        let b = tokio::spawn(pipe(ur, cw, delay, stop));
                        // When one direction ends, end the other: a restarted broker must look
                        // like a lost connection to the client.
                        let (abort_a, abort_b) = (a.abort_handle(), b.abort_handle());
                        tokio::select! {
                            _ = a => {}
                            _ = b => {}
                        }
                        abort_a.abort();
                        abort_b.abort();
                    });
                }
            });
        })?;
        Ok(LatencyProxy { port, stop })
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`, each chunk written `delay` after it was read.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
    stop: Arc<AtomicBool>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        let mut queue: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
        loop {
            if queue.is_empty() {
                match rx.recv().await {
                    Some(item) => queue.push_back(item),
                    None => break,
                }
            }
            while let Ok(item) = rx.try_recv() {
                queue.push_back(item);
            }
            let Some((at, _)) = queue.front() else { continue };
            tokio::time::sleep_until(*at).await;
            // Everything due by now goes out in one write.
            let now = Instant::now();
            let mut out = Vec::new();
            while queue.front().is_some_and(|(at, _)| *at <= now) {
                out.extend(queue.pop_front().map(|(_, b)| b).unwrap_or_default());
            }
            if to.write_all(&out).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}
