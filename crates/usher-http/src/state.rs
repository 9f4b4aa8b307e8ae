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
    /// Take the client address from the first `X-Forwarded-For` entry (only behind a proxy
    /// that sets it), for login throttling and the audit log.
    pub trust_forwarded_for: bool,
    /// Mark cookies `Secure` (when users reach usher over HTTPS).
    pub secure_cookies: bool,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig { max_body_bytes: 1024 * 1024, trust_forwarded_for: false, secure_cookies: false }
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
    pub fn new(ports: Ports, readiness: Arc<dyn Readiness>, config: HttpConfig) -> AppState {
        AppState { ports, readiness, metrics: Arc::new(Metrics::new()), config }
    }

    /// Counts the outcome of a dispatch round in `usher_mail_deliveries_total` (by outcome:
    /// sent, retried, failed), for the dispatcher running beside the server.
    pub fn count_mail(&self, report: &usher_domain::service::outbox::DispatchReport) {
        self.metrics.count_mail(report);
    }

    /// The client address of a request (for throttling and the audit log).
    pub(crate) fn source_of(&self, req: &Request) -> Option<String> {
        if self.config.trust_forwarded_for {
            let forwarded = req.header("x-forwarded-for").and_then(|v| v.split(',').next()).map(str::trim);
            if let Some(address) = forwarded.filter(|a| !a.is_empty()) {
                return Some(address.to_owned());
            }
        }
        req.remote_addr().as_socket_addr().map(|address| address.ip().to_string())
    }
}
