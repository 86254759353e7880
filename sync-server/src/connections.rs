//! Accepting connections so that no flood stops the server: an accept error never ends serving
//! (on «too many open files» it backs off briefly and tries again), a connection over the global
//! or the per-address cap is closed at once, a TLS handshake, a request head and a silent
//! connection each have a deadline. The caps keep the open files below the service's
//! `LimitNOFILE`, so the listener itself keeps working for the tablets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The IP address a request's connection came from, for per-address limits on attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddress(pub IpAddr);

impl PeerAddress {
    /// The address as limits count it: an IPv4 address (also written as IPv6), or an IPv6
    /// address's /64, since one subscriber usually holds a whole /64 and could otherwise
    /// take a fresh address for every attempt.
    pub fn limited_as(self) -> IpAddr {
        match self.0 {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    IpAddr::V6(std::net::Ipv6Addr::from(prefix))
                }
            },
        }
    }
}

/// Limits on connections, the `[connections]` table of the config file.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionLimits {
    /// Open connections at once, all addresses together; more are closed on arrival. Keep it
    /// well below the unit's `LimitNOFILE` (the database, blobs and logs need files too).
    pub max_connections: usize,
    /// Open connections at once from one IP address (an IPv6 /64): one flooding address cannot
    /// take them all. Tablets behind one carrier NAT share an address, so not too low.
    pub max_connections_per_address: usize,
    /// Seconds a client has to finish the TLS handshake after connecting.
    pub tls_handshake_timeout_seconds: u64,
    /// Seconds a client has to send a whole request head (HTTP/1).
    pub header_timeout_seconds: u64,
    /// Seconds a connection may stay silent (no byte either way) before it is closed.
    pub idle_timeout_seconds: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 4096,
            max_connections_per_address: 64,
            tls_handshake_timeout_seconds: 10,
            header_timeout_seconds: 20,
            idle_timeout_seconds: 120,
        }
    }
}

impl ConnectionLimits {
    pub fn tls_handshake_timeout(&self) -> Duration {
        Duration::from_secs(self.tls_handshake_timeout_seconds)
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_seconds)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_seconds)
    }

    /// A limit of zero would refuse everything or close every connection at once.
    pub fn check(&self) -> Result<(), String> {
        let zero = [
            ("max_connections", self.max_connections as u64),
            (
                "max_connections_per_address",
                self.max_connections_per_address as u64,
            ),
            (
                "tls_handshake_timeout_seconds",
                self.tls_handshake_timeout_seconds,
            ),
            ("header_timeout_seconds", self.header_timeout_seconds),
            ("idle_timeout_seconds", self.idle_timeout_seconds),
        ]
        .into_iter()
        .find(|(_, value)| *value == 0);
        match zero {
            Some((name, _)) => Err(format!("[connections] {name} must be at least 1")),
            None => Ok(()),
        }
    }
}

/// How long to wait before accepting again after the process or the system ran out of file
/// descriptors: long enough not to spin, short enough that tablets barely notice.
const OUT_OF_FILES_PAUSE: Duration = Duration::from_millis(100);

/// What to do after `accept` failed.
pub fn pause_after_accept_error(error: &std::io::Error) -> Option<Duration> {
    // EMFILE (24: this process) and ENFILE (23: the whole system) on Linux.
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    match error.raw_os_error() {
        Some(EMFILE | ENFILE) => Some(OUT_OF_FILES_PAUSE),
        // A connection reset before it was accepted and the like: try the next one.
        _ => None,
    }
}

/// The slots connections take: one from the global pool and one of their address's.
#[derive(Clone)]
pub struct ConnectionSlots {
    global: Arc<Semaphore>,
    per_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_address: usize,
}

/// Held for as long as a connection is open; gives its slots back when dropped.
pub struct ConnectionSlot {
    _global: OwnedSemaphorePermit,
    address: IpAddr,
    per_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl ConnectionSlots {
    pub fn new(limits: &ConnectionLimits) -> Self {
        ConnectionSlots {
            global: Arc::new(Semaphore::new(limits.max_connections)),
            per_address: Arc::default(),
            max_per_address: limits.max_connections_per_address,
        }
    }

    /// A slot for a new connection from `address`, or `None` when a cap is reached.
    pub fn take(&self, address: IpAddr) -> Option<ConnectionSlot> {
        let global = self.global.clone().try_acquire_owned().ok()?;
        // A poisoned lock only means another connection panicked while counting; the counts
        // are still right, and refusing every connection from then on would be worse.
        let mut open = self
            .per_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(address).or_insert(0);
        if *count >= self.max_per_address {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            _global: global,
            address,
            per_address: self.per_address.clone(),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self
            .per_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// A stream that notes when a byte last went either way, so a silent connection can be found.
pub struct Watched<S> {
    inner: S,
    activity: Activity,
}

/// When a connection last moved a byte, in milliseconds since it opened.
#[derive(Clone)]
pub struct Activity {
    opened: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    pub fn new() -> Self {
        Activity {
            opened: Instant::now(),
            last_ms: Arc::default(),
        }
    }

    fn touch(&self) {
        let now = self.opened.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn silent_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }

    /// Resolves once the connection has been silent for `idle`.
    pub async fn silent(&self, idle: Duration) {
        loop {
            let silent = self.silent_for();
            if silent >= idle {
                return;
            }
            tokio::time::sleep(idle - silent).await;
        }
    }
}

impl Default for Activity {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Watched<S> {
    pub fn new(inner: S, activity: Activity) -> Self {
        Watched { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn limits(global: usize, per_address: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: global,
            max_connections_per_address: per_address,
            ..ConnectionLimits::default()
        }
    }

    #[test]
    fn one_address_is_capped_and_others_still_get_in() {
        let slots = ConnectionSlots::new(&limits(10, 2));
        let flooder: IpAddr = "192.0.2.1".parse().unwrap();
        let tablet: IpAddr = "192.0.2.2".parse().unwrap();
        let first = slots.take(flooder).unwrap();
        let _second = slots.take(flooder).unwrap();
        assert!(slots.take(flooder).is_none());
        assert!(slots.take(tablet).is_some());
        drop(first);
        assert!(
            slots.take(flooder).is_some(),
            "a closed connection frees its slot"
        );
    }

    #[test]
    fn the_global_cap_holds_across_addresses() {
        let slots = ConnectionSlots::new(&limits(3, 3));
        let held: Vec<_> = (1..=3)
            .map(|i| slots.take(format!("192.0.2.{i}").parse().unwrap()).unwrap())
            .collect();
        assert!(slots.take("192.0.2.9".parse().unwrap()).is_none());
        drop(held);
        assert!(slots.take("192.0.2.9".parse().unwrap()).is_some());
    }

    #[test]
    fn an_ipv6_subscriber_counts_as_its_64_and_mapped_ipv4_as_ipv4() {
        let one = PeerAddress("2001:db8:1:2::5".parse().unwrap()).limited_as();
        let other = PeerAddress("2001:db8:1:2:ffff::9".parse().unwrap()).limited_as();
        let neighbour = PeerAddress("2001:db8:1:3::5".parse().unwrap()).limited_as();
        assert_eq!(one, other);
        assert_ne!(one, neighbour);
        assert_eq!(one.to_string(), "2001:db8:1:2::");
        let mapped = PeerAddress("::ffff:192.0.2.7".parse().unwrap()).limited_as();
        assert_eq!(mapped, "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn out_of_files_backs_off_and_other_errors_do_not() {
        let emfile = std::io::Error::from_raw_os_error(24);
        let enfile = std::io::Error::from_raw_os_error(23);
        let aborted = std::io::Error::from(std::io::ErrorKind::ConnectionAborted);
        assert!(pause_after_accept_error(&emfile).is_some());
        assert!(pause_after_accept_error(&enfile).is_some());
        assert!(pause_after_accept_error(&aborted).is_none());
    }

    #[test]
    fn a_zero_limit_is_refused_with_its_name() {
        let error = limits(0, 1).check().unwrap_err();
        assert!(error.contains("max_connections"), "{error}");
        assert!(ConnectionLimits::default().check().is_ok());
    }
}
