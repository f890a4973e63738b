//! Connections: a TCP listener that keeps a handle on every open connection (so that a
//! handler can sever its own connection, the `Drop` fault, and shutdown can close
//! stragglers), caps how many are open, and closes those that stall.
//!
//! Each accepted socket is duplicated (`try_clone`); `shutdown(Both)` on the
//! duplicate sends the peer a FIN at once and makes the server's own reads and writes
//! on that connection fail, so neither side hangs. (A connection therefore holds two
//! file descriptors, which [`ConnLimits::max_connections`] accounts for.)
//!
//! # Timeouts
//!
//! `axum::serve` sets no hyper timer, so hyper's own `header_read_timeout` is off; and
//! hyper's timer, once on, runs from the end of one response to the end of the next
//! request's headers, so it could not tell a slow request from an idle keep-alive
//! connection anyway. The timeouts are therefore kept here, on the socket, from what
//! the connection does:
//!
//! - a new connection must send a request's complete headers within
//!   [`ConnLimits::header_read_timeout`] of being served;
//! - after a response, a kept-alive connection may stay idle for
//!   [`ConnLimits::idle_timeout`]; once the first bytes of its next request arrive,
//!   the headers must be complete within the header-read timeout;
//! - while a handler runs (a request's headers are in), nothing is timed here: the
//!   handler bounds the body read itself, and a delay fault may take as long as it
//!   was told to;
//! - a response the client does not read is given up after the idle timeout without
//!   progress.
//!
//! A connection past its deadline is severed: hyper's next read or write on it fails
//! with `TimedOut` and it drops the connection.
//!
//! # The connection cap
//!
//! At [`ConnLimits::max_connections`] open connections the listener stops accepting:
//! the next connection is accepted and held, unserved, until a slot frees, and those
//! after it wait in the kernel's listen backlog, costing this process no descriptor.
//! Waiting rather than refusing, because the clients of a test server are the test's
//! own: a burst of requests beyond the cap (a load test, a pool opening many
//! connections at once) is then slowed down by a few milliseconds rather than failed.
//! So that idle keep-alive connections cannot hold every slot while new clients wait
//! (a client's pool may keep dozens for a minute), a held connection makes room: the
//! connection idle the longest (for at least [`EVICT_IDLE_AFTER`]) is closed, as
//! servers close idle connections under load. A connection in the middle of a request
//! is never closed for room; it frees its slot when it ends or times out.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use crate::sync::lock;

/// A connection idle for at least this long may be closed to make room for a new one
/// at the cap. Not less: a client may be about to reuse a connection it just pooled.
const EVICT_IDLE_AFTER: Duration = Duration::from_millis(500);

/// How often a connection held at the cap looks again for an idle one to close.
const RECHECK_AT_CAP: Duration = Duration::from_millis(50);

/// The connection limits of one server (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConnLimits {
    /// A request's headers must be complete within this.
    pub header_read_timeout: Duration,
    /// A kept-alive connection without a new request is closed after this.
    pub idle_timeout: Duration,
    /// Open connections at most; more wait.
    pub max_connections: usize,
}

/// What a connection is doing, for its deadline.
#[derive(Debug)]
struct Activity {
    /// When it was served, or when its last handler finished.
    waiting_since: Instant,
    /// When it last wrote (a response going out).
    last_write: Instant,
    /// No request has reached a handler yet.
    fresh: bool,
    /// When the first bytes of the next request arrived (its headers are not in yet).
    request_started: Option<Instant>,
    /// Handlers running (requests whose headers are in); more than one on HTTP/2 only.
    handlers: usize,
    /// Severed: hyper's next read or write fails.
    closing: bool,
}

impl Activity {
    /// Since when it has been idle: between requests, nothing of the next one read.
    fn idle_since(&self) -> Option<Instant> {
        (self.handlers == 0 && self.request_started.is_none() && !self.closing)
            .then(|| self.waiting_since.max(self.last_write))
    }
}

/// One open connection, shared by its socket, its handlers and the registry.
#[derive(Debug)]
pub(crate) struct Conn {
    id: u64,
    /// The duplicated socket: the kill switch.
    socket: std::net::TcpStream,
    limits: ConnLimits,
    activity: Mutex<Activity>,
}

impl Conn {
    /// Closes the connection in both directions (see the module docs).
    pub fn sever(&self) {
        lock(&self.activity).closing = true;
        let _ = self.socket.shutdown(Shutdown::Both);
    }

    /// A handler starts (the request's headers are in). Dropping the guard ends it.
    pub fn handler_started(self: &Arc<Self>) -> HandlerGuard {
        let mut activity = lock(&self.activity);
        activity.handlers += 1;
        activity.fresh = false;
        activity.request_started = None;
        HandlerGuard(Arc::clone(self))
    }

    fn on_read(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut activity = lock(&self.activity);
        if activity.handlers == 0 && activity.request_started.is_none() {
            // A new connection's headers are timed from when it was served; a kept-alive
            // one's from its next request's first bytes.
            activity.request_started = Some(if activity.fresh {
                activity.waiting_since
            } else {
                Instant::now()
            });
        }
    }

    fn on_write(&self, n: usize) {
        if n > 0 {
            lock(&self.activity).last_write = Instant::now();
        }
    }

    /// When the connection is to be closed, if it is idle or reading headers.
    fn deadline(&self) -> Option<Instant> {
        let activity = lock(&self.activity);
        if activity.handlers > 0 {
            return None;
        }
        let header = self.limits.header_read_timeout;
        Some(match activity.request_started {
            Some(started) => started + header,
            None if activity.fresh => activity.waiting_since + header,
            None => activity.waiting_since.max(activity.last_write) + self.limits.idle_timeout,
        })
    }
}

/// A running handler of a connection (see [`Conn::handler_started`]).
pub(crate) struct HandlerGuard(Arc<Conn>);

impl Drop for HandlerGuard {
    fn drop(&mut self) {
        let mut activity = lock(&self.0.activity);
        activity.handlers -= 1;
        if activity.handlers == 0 {
            activity.waiting_since = Instant::now();
            activity.request_started = None;
        }
    }
}

/// The open connections of one server.
#[derive(Debug)]
pub(crate) struct ConnRegistry {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    /// How many are open (watched by the listener at the cap, and by shutdown).
    count: watch::Sender<usize>,
}

impl Default for ConnRegistry {
    fn default() -> Self {
        ConnRegistry {
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            count: watch::Sender::new(0),
        }
    }
}

impl ConnRegistry {
    /// Severs every open connection.
    pub fn close_all(&self) {
        let open = lock(&self.open);
        for conn in open.values() {
            conn.sever();
        }
    }

    /// Watches the number of open connections.
    pub fn watch_count(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }

    fn register(&self, socket: std::net::TcpStream, limits: ConnLimits) -> Arc<Conn> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let conn = Arc::new(Conn {
            id,
            socket,
            limits,
            activity: Mutex::new(Activity {
                waiting_since: now,
                last_write: now,
                fresh: true,
                request_started: None,
                handlers: 0,
                closing: false,
            }),
        });
        let mut open = lock(&self.open);
        open.insert(id, Arc::clone(&conn));
        self.count.send_replace(open.len());
        conn
    }

    fn forget(&self, id: u64) {
        let mut open = lock(&self.open);
        open.remove(&id);
        self.count.send_replace(open.len());
    }

    /// At the cap: whether a slot is free, counting severed connections (about to go)
    /// as gone; if not, closes the connection idle the longest (for at least
    /// `min_idle`), if any.
    fn make_room(&self, max: usize, min_idle: Duration) -> bool {
        let open = lock(&self.open);
        let mut staying = 0;
        let mut longest_idle: Option<(Instant, &Arc<Conn>)> = None;
        for conn in open.values() {
            let activity = lock(&conn.activity);
            if activity.closing {
                continue;
            }
            staying += 1;
            if let Some(since) = activity.idle_since() {
                if longest_idle.is_none_or(|(other, _)| since < other) {
                    longest_idle = Some((since, conn));
                }
            }
        }
        if staying < max {
            return true;
        }
        if let Some((since, conn)) = longest_idle {
            if since.elapsed() >= min_idle {
                conn.sever();
            }
        }
        false
    }
}

/// What a handler knows about its connection (axum `ConnectInfo`).
#[derive(Clone, Debug)]
pub(crate) struct ConnInfo {
    pub peer: SocketAddr,
    /// `None` only for the listener's own address.
    conn: Option<Arc<Conn>>,
}

impl ConnInfo {
    /// Closes this connection in both directions, without a response. Returns false
    /// when there is no connection (the listener's own address).
    pub fn sever(&self) -> bool {
        match &self.conn {
            Some(conn) => {
                conn.sever();
                true
            }
            None => false,
        }
    }

    /// Marks a handler running on this connection until the guard is dropped: no
    /// timeout applies meanwhile.
    pub fn handler_started(&self) -> Option<HandlerGuard> {
        self.conn.as_ref().map(Conn::handler_started)
    }
}

impl Connected<IncomingStream<'_, TrackedListener>> for ConnInfo {
    fn connect_info(stream: IncomingStream<'_, TrackedListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// [`TcpListener`] whose connections are registered in a [`ConnRegistry`], capped and
/// timed (see the module docs).
pub(crate) struct TrackedListener {
    inner: TcpListener,
    registry: Arc<ConnRegistry>,
    limits: ConnLimits,
}

impl TrackedListener {
    pub fn new(inner: TcpListener, registry: Arc<ConnRegistry>, limits: ConnLimits) -> Self {
        TrackedListener {
            inner,
            registry,
            limits,
        }
    }

    /// The next connection from the OS.
    async fn accept_socket(&self) -> (TcpStream, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok(accepted) => return accepted,
                // Mostly EMFILE/ENFILE: back off briefly instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    /// Returns once fewer than `max_connections` are open, closing idle ones for room.
    async fn wait_for_slot(&self) {
        let mut count = self.registry.watch_count();
        loop {
            count.borrow_and_update();
            if self
                .registry
                .make_room(self.limits.max_connections, EVICT_IDLE_AFTER)
            {
                return;
            }
            // A connection closing, or time for another look at the idle ones.
            let _ = tokio::time::timeout(RECHECK_AT_CAP, count.changed()).await;
        }
    }

    /// Registers an accepted connection; `None` (the connection is dropped) only when
    /// the socket cannot be duplicated, i.e. the process is out of file descriptors.
    fn track(&self, stream: TcpStream, peer: SocketAddr) -> Option<(TrackedStream, ConnInfo)> {
        let _ = stream.set_nodelay(true);
        // Duplicate the socket: one copy serves HTTP, the other is the kill switch.
        let std_stream = stream.into_std().ok()?;
        let handle = std_stream.try_clone().ok()?;
        let stream = TcpStream::from_std(std_stream).ok()?;
        let conn = self.registry.register(handle, self.limits);
        let io = TrackedStream {
            inner: stream,
            conn: Arc::clone(&conn),
            registry: Arc::clone(&self.registry),
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            timer_deadline: None,
        };
        Some((
            io,
            ConnInfo {
                peer,
                conn: Some(conn),
            },
        ))
    }
}

impl Listener for TrackedListener {
    type Io = TrackedStream;
    type Addr = ConnInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, peer) = self.accept_socket().await;
            // Held, unserved, until there is room (see the module docs).
            self.wait_for_slot().await;
            if let Some(tracked) = self.track(stream, peer) {
                return tracked;
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnInfo {
            peer: self.inner.local_addr()?,
            conn: None,
        })
    }
}

/// An accepted connection: unregisters itself when hyper drops it, and fails reads and
/// writes once past its deadline.
pub(crate) struct TrackedStream {
    inner: TcpStream,
    conn: Arc<Conn>,
    registry: Arc<ConnRegistry>,
    timer: Pin<Box<Sleep>>,
    /// What `timer` is set to.
    timer_deadline: Option<Instant>,
}

impl TrackedStream {
    /// Called when a read or write would wait: the error to fail it with if the
    /// connection is past its deadline (it is then severed); else the timer is armed
    /// to wake the task at the deadline.
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        let deadline = self.conn.deadline()?;
        if self.timer_deadline != Some(deadline) {
            self.timer.as_mut().reset(deadline);
            self.timer_deadline = Some(deadline);
        }
        if self.timer.as_mut().poll(cx).is_pending() {
            return None;
        }
        self.conn.sever();
        Some(io::Error::new(
            io::ErrorKind::TimedOut,
            "connection idle or request headers incomplete for too long",
        ))
    }

    /// Records a write's progress, or fails a write that would wait past the deadline.
    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(Ok(n)) => {
                self.conn.on_write(n);
                Poll::Ready(Ok(n))
            }
            Poll::Pending => match self.expired(cx) {
                Some(error) => Poll::Ready(Err(error)),
                None => Poll::Pending,
            },
            other => other,
        }
    }
}

impl Drop for TrackedStream {
    fn drop(&mut self) {
        self.registry.forget(self.conn.id);
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.conn.on_read(buf.filled().len() - before);
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.expired(cx) {
                Some(error) => Poll::Ready(Err(error)),
                None => Poll::Pending,
            },
            other => other,
        }
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(cx, polled)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
