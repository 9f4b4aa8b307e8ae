//! Webhook delivery over HTTP (R26): the [`WebhookSender`] port on reqwest, and the loop that
//! runs delivery rounds in the server.
//!
//! Outgoing requests never reach private, loopback, link-local or otherwise internal addresses
//! unless the operator allows them: the host is checked before sending, and the client's
//! resolver refuses such addresses too, so a name that changes its answer between the check
//! and the connection (DNS rebinding) is still refused. Requests time out and follow no
//! redirect, so an endpoint cannot bounce usher to an internal address either.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use usher_domain::ports::{WebhookAnswer, WebhookFailure, WebhookRequest, WebhookSender};
use usher_domain::service::Ports;
use usher_domain::service::webhooks::{WebhookPolicy, dispatch_webhooks};

/// How long a delivery may take, connection included.
const TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// How long connecting may take.
const CONNECT_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// How much of an answer's body the delivery log keeps.
const ANSWER_EXCERPT: usize = 500;

/// Whether an address is one webhooks must not reach by default: loopback, private,
/// link-local, carrier-grade NAT, unspecified, broadcast, multicast, documentation and
/// unique-local ranges, and IPv4 addresses mapped into IPv6.
pub fn is_internal(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
        }
    }
}

/// A resolver that drops internal addresses (unless allowed) from every answer.
#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    allow_internal: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_internal = self.allow_internal;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> =
                found.filter(|address| allow_internal || !is_internal(address.ip())).collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{} resolves only to internal addresses", name.as_str()).into();
                return Err(refused);
            }
            let addresses: Addrs = Box::new(allowed.into_iter());
            Ok(addresses)
        })
    }
}

/// Sends webhook requests over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    client: reqwest::Client,
    allow_internal: bool,
}

impl HttpWebhookSender {
    /// A sender; `allow_internal` lets webhooks reach internal addresses (for tests and
    /// private networks).
    pub fn new(allow_internal: bool) -> Result<HttpWebhookSender, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("usher-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { allow_internal }))
            .build()
            .map_err(|err| format!("cannot build the webhook client: {err}"))?;
        Ok(HttpWebhookSender { client, allow_internal })
    }

    /// Refuses a URL whose host is an internal address literal (names are checked by the
    /// resolver, when the connection is made).
    fn check(&self, url: &reqwest::Url) -> Result<(), WebhookFailure> {
        if self.allow_internal {
            return Ok(());
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(domain)) if domain.eq_ignore_ascii_case("localhost") => {
                return Err(WebhookFailure::Refused("localhost is an internal address".to_owned()));
            }
            _ => None,
        };
        match literal {
            Some(address) if is_internal(address) => {
                Err(WebhookFailure::Refused(format!("{address} is an internal address")))
            }
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(&self, request: &WebhookRequest) -> Result<WebhookAnswer, WebhookFailure> {
        let url = reqwest::Url::parse(&request.url)
            .map_err(|err| WebhookFailure::Refused(format!("the URL cannot be used: {err}")))?;
        self.check(&url)?;
        let mut outgoing = self.client.post(url).body(request.body.clone());
        for (name, value) in &request.headers {
            outgoing = outgoing.header(*name, value);
        }
        let response = outgoing.send().await.map_err(|err| describe(&err))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok(WebhookAnswer { status, body: text.chars().take(ANSWER_EXCERPT).collect() })
    }
}

/// What went wrong, in a line for the delivery log; a refused address is permanent.
fn describe(err: &reqwest::Error) -> WebhookFailure {
    let mut reason = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        reason = format!("{reason}: {cause}");
        source = cause.source();
    }
    if reason.contains("internal addresses") {
        return WebhookFailure::Refused(reason);
    }
    if err.is_timeout() {
        return WebhookFailure::Unreachable(format!("no answer within {} s", TIMEOUT.as_secs()));
    }
    WebhookFailure::Unreachable(reason)
}

/// How often the webhooks are looked at when a round found nothing to do.
pub const WEBHOOK_INTERVAL: StdDuration = StdDuration::from_millis(250);

/// Runs delivery rounds until `shutdown` resolves; a round that did something is followed by
/// another at once.
pub async fn run_webhook_dispatcher(
    ports: Ports,
    sender: HttpWebhookSender,
    policy: WebhookPolicy,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let round = dispatch_webhooks(&ports, &sender, &policy);
        let busy = tokio::select! {
            () = &mut shutdown => return,
            outcome = round => match outcome {
                Ok(report) => {
                    if report.delivered + report.failed + report.disabled > 0 {
                        tracing::info!(
                            delivered = report.delivered,
                            failed = report.failed,
                            disabled = report.disabled,
                            "webhooks"
                        );
                    }
                    report.delivered + report.failed + report.fanned_out > 0
                }
                Err(err) => {
                    tracing::warn!(error = %err, "webhook round failed; trying again");
                    false
                }
            },
        };
        if busy {
            continue;
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(WEBHOOK_INTERVAL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r26_webhooks_do_not_reach_internal_addresses() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn r26_a_webhook_to_an_internal_address_is_refused_before_sending() {
        let sender = HttpWebhookSender::new(false).unwrap();
        for url in [
            "http://127.0.0.1:9/hook",
            "http://[::1]/hook",
            "http://localhost/hook",
            "http://169.254.169.254/latest",
        ] {
            let request = WebhookRequest { url: url.to_owned(), headers: vec![], body: "{}".to_owned() };
            let outcome = sender.send(&request).await;
            assert!(matches!(outcome, Err(WebhookFailure::Refused(_))), "{url}: {outcome:?}");
        }
    }
}
