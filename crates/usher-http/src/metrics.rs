//! Prometheus metrics (`GET /metrics`): requests by operation and status, their latency, and
//! outbox deliveries by outcome.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    operation: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MailLabels {
    outcome: &'static str,
}

/// The server's metrics registry.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<OperationLabels, Histogram>,
    mail: Family<MailLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("usher");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<OperationLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by operation and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by operation",
            durations.clone(),
        );
        let mail = Family::<MailLabels, Counter>::default();
        registry.register(
            "mail_deliveries",
            "Outbox delivery attempts, by outcome (sent, retried, failed)",
            mail.clone(),
        );
        Metrics { registry, requests, durations, mail }
    }

    /// Counts the outcomes of one dispatch round.
    pub(crate) fn count_mail(&self, report: &usher_domain::service::mail::DispatchReport) {
        for (outcome, n) in [("sent", report.sent), ("retried", report.retried), ("failed", report.failed)] {
            self.mail.get_or_create(&MailLabels { outcome }).inc_by(u64::try_from(n).unwrap_or(u64::MAX));
        }
    }

    /// Counts one answered request. `operation` is the OpenAPI operation id (never a raw path,
    /// so ids do not multiply the series).
    pub(crate) fn observe(&self, method: &str, operation: &str, status: u16, seconds: f64) {
        let labels = RequestLabels { method: method.to_owned(), operation: operation.to_owned(), status };
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&OperationLabels { operation: operation.to_owned() }).observe(seconds);
    }

    /// The text exposition format.
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %err, "encoding metrics failed");
        }
        text
    }
}
