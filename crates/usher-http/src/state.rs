//! What every handler shares: the domain's ports, the readiness probe, metrics and limits.

use std::sync::Arc;

use poem::Request;
use usher_domain::service::Ports;

use crate::metrics::Metrics;

/// Limits and behaviour of the HTTP server.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes (larger ones get 413).
    pub max_body_bytes: usize,
    /// Largest CSV file an import accepts, in bytes; read as it arrives, never held whole.
    pub max_import_bytes: u64,
    /// How many proxies in front of usher append to `X-Forwarded-For` (0: trust no header).
    /// The client address, for throttling and the audit log, is the entry that many places
    /// from the right: the right-most one no trusted proxy wrote for itself, so a client
    /// cannot choose it by sending a header of its own.
    pub trusted_proxies: u8,
    /// Mark cookies `Secure` (when users reach usher over HTTPS).
    pub secure_cookies: bool,
    /// The origin (`https://id.example.com`) the hosted pages are served from: a form posted
    /// with another `Origin` is refused.
    pub public_origin: Option<String>,
    /// The key that signs the pages' CSRF cookies; random per process when `None` (give every
    /// instance behind one load balancer the same key).
    pub page_key: Option<[u8; 32]>,
}

/// The default largest import file: 256 MiB, a million rows of a dozen columns and more.
pub const DEFAULT_MAX_IMPORT_BYTES: u64 = 256 * 1024 * 1024;

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            max_body_bytes: 1024 * 1024,
            max_import_bytes: DEFAULT_MAX_IMPORT_BYTES,
            trusted_proxies: 0,
            secure_cookies: false,
            public_origin: None,
            page_key: None,
        }
    }
}

/// Whether the server can serve requests (`GET /readyz`): its database answers.
#[async_trait::async_trait]
pub trait Readiness: Send + Sync {
    /// `Err` with a short reason when not ready.
    async fn ready(&self) -> Result<(), String>;
}

/// The state shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub(crate) ports: Ports,
    pub(crate) readiness: Arc<dyn Readiness>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) config: HttpConfig,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("config", &self.config).finish_non_exhaustive()
    }
}

impl AppState {
    /// State over the domain's ports.
    pub fn new(ports: Ports, readiness: Arc<dyn Readiness>, mut config: HttpConfig) -> AppState {
        if config.page_key.is_none() {
            config.page_key = Some(ports.tokens.random_bytes());
        }
        AppState { ports, readiness, metrics: Arc::new(Metrics::new()), config }
    }

    /// Counts the outcome of a dispatch round in `usher_mail_deliveries_total` (by outcome:
    /// sent, retried, failed), for the dispatcher running beside the server.
    pub fn count_mail(&self, report: &usher_domain::service::mail::DispatchReport) {
        self.metrics.count_mail(report);
    }

    /// The client address of a request (for throttling and the audit log).
    pub(crate) fn source_of(&self, req: &Request) -> Option<String> {
        let forwarded = req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
        let forwarded: Vec<&str> = forwarded.collect();
        if let Some(address) = client_address(&forwarded, self.config.trusted_proxies) {
            return Some(address);
        }
        req.remote_addr().as_socket_addr().map(|address| address.ip().to_string())
    }
}

/// The client address behind `trusted_proxies` proxies, from every `X-Forwarded-For` header in
/// order: the entry `trusted_proxies` places from the right. `None` when no proxy is trusted,
/// or the chain is shorter than the proxies (the request did not come through them), or the
/// entry is not an IP address.
pub(crate) fn client_address(headers: &[&str], trusted_proxies: u8) -> Option<String> {
    let from_right = usize::from(trusted_proxies).checked_sub(1)?;
    let entries: Vec<&str> = headers.iter().flat_map(|header| header.split(',')).map(str::trim).collect();
    let entry = entries.iter().rev().nth(from_right)?;
    entry.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::client_address;

    #[test]
    fn r14_the_client_address_is_the_rightmost_entry_no_trusted_proxy_wrote() {
        // One proxy: it appended the address that connected to it; the rest is the client's.
        assert_eq!(client_address(&["6.6.6.6, 203.0.113.7"], 1).as_deref(), Some("203.0.113.7"));
        // Two proxies: the nearer one appended the farther one's address.
        assert_eq!(client_address(&["6.6.6.6, 203.0.113.7, 10.0.0.2"], 2).as_deref(), Some("203.0.113.7"));
        // Headers split over several lines read as one list.
        assert_eq!(client_address(&["6.6.6.6", "203.0.113.7"], 1).as_deref(), Some("203.0.113.7"));
        // No trusted proxy, a chain shorter than the proxies, or no address: the socket's.
        assert_eq!(client_address(&["203.0.113.7"], 0), None);
        assert_eq!(client_address(&["203.0.113.7"], 2), None);
        assert_eq!(client_address(&["not-an-address"], 1), None);
    }
}
