//! A TCP listener that keeps a handle on every open connection, so that a handler can
//! sever its own connection (the `Drop` fault) and shutdown can close stragglers.
//!
//! Each accepted socket is duplicated (`try_clone`); `shutdown(Both)` on the
//! duplicate sends the peer a FIN at once and makes the server's own reads and writes
//! on that connection fail, so neither side hangs.

use std::collections::HashMap;
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

use crate::sync::lock;

/// The open connections of one server.
#[derive(Debug, Default)]
pub(crate) struct ConnRegistry {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<std::net::TcpStream>>>,
}

impl ConnRegistry {
    /// Severs every open connection.
    pub fn close_all(&self) {
        let open = lock(&self.open);
        for socket in open.values() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    fn register(&self, socket: Arc<std::net::TcpStream>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.open).insert(id, socket);
        id
    }

    fn forget(&self, id: u64) {
        lock(&self.open).remove(&id);
    }
}

/// What a handler knows about its connection (axum `ConnectInfo`).
#[derive(Clone, Debug)]
pub(crate) struct ConnInfo {
    pub peer: SocketAddr,
    socket: Option<Arc<std::net::TcpStream>>,
}

impl ConnInfo {
    /// Closes this connection in both directions, without a response. Returns false
    /// when the connection has no handle (it could not be duplicated at accept).
    pub fn sever(&self) -> bool {
        match &self.socket {
            Some(socket) => {
                let _ = socket.shutdown(Shutdown::Both);
                true
            }
            None => false,
        }
    }
}

impl Connected<IncomingStream<'_, TrackedListener>> for ConnInfo {
    fn connect_info(stream: IncomingStream<'_, TrackedListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// [`TcpListener`] whose connections are registered in a [`ConnRegistry`].
pub(crate) struct TrackedListener {
    inner: TcpListener,
    registry: Arc<ConnRegistry>,
}

impl TrackedListener {
    pub fn new(inner: TcpListener, registry: Arc<ConnRegistry>) -> Self {
        TrackedListener { inner, registry }
    }

    /// Registers an accepted connection; `None` (the connection is dropped) only when
    /// the socket cannot be duplicated, i.e. the process is out of file descriptors.
    fn track(&self, stream: TcpStream, peer: SocketAddr) -> Option<(TrackedStream, ConnInfo)> {
        let _ = stream.set_nodelay(true);
        // Duplicate the socket: one copy serves HTTP, the other is the kill switch.
        let std_stream = stream.into_std().ok()?;
        let handle = Arc::new(std_stream.try_clone().ok()?);
        let stream = TcpStream::from_std(std_stream).ok()?;
        let id = self.registry.register(Arc::clone(&handle));
        let io = TrackedStream {
            inner: stream,
            id,
            registry: Arc::clone(&self.registry),
        };
        Some((
            io,
            ConnInfo {
                peer,
                socket: Some(handle),
            },
        ))
    }
}

impl Listener for TrackedListener {
    type Io = TrackedStream;
    type Addr = ConnInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    if let Some(tracked) = self.track(stream, peer) {
                        return tracked;
                    }
                }
                // Mostly EMFILE/ENFILE: back off briefly instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnInfo {
            peer: self.inner.local_addr()?,
            socket: None,
        })
    }
}

/// An accepted connection; unregisters itself when hyper drops it.
pub(crate) struct TrackedStream {
    inner: TcpStream,
    id: u64,
    registry: Arc<ConnRegistry>,
}

impl Drop for TrackedStream {
    fn drop(&mut self) {
        self.registry.forget(self.id);
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
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
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
