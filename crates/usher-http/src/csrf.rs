//! Cross-site request forgery defence for the server's HTML forms (the hosted pages and the
//! console): a signed double-submit value. The form's field must equal the `usher_csrf` cookie
//! (`SameSite=Strict`, `HttpOnly`) set with the page, the value must carry our HMAC and be
//! unexpired, and a post the browser calls cross-site, or whose `Origin` is not ours, is refused.

use poem::Request;
use poem::http::header;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// The cookie that carries this browser's CSRF value.
pub(crate) const CSRF_COOKIE: &str = "usher_csrf";

/// How long a form's CSRF value is good for.
const CSRF_LIFETIME_SECONDS: i64 = 2 * 60 * 60;

/// The CSRF value of this browser: the cookie's when it carries our valid signature (so two
/// tabs share it), else a new one: `<nonce>.<expires>.<HMAC-SHA256 of both>`, so a value we
/// did not mint (a cookie tossed in from a sibling domain) is refused.
pub(crate) fn csrf_of(state: &AppState, req: &Request) -> String {
    if let Some(value) = cookie(req, CSRF_COOKIE).filter(|value| csrf_signed(state, value)) {
        return value.to_owned();
    }
    let nonce: String =
        state.ports.tokens.random_bytes().iter().take(16).map(|b| format!("{b:02x}")).collect();
    let expires = state.ports.clock.now().unix_micros() / 1_000_000 + CSRF_LIFETIME_SECONDS;
    let payload = format!("{nonce}.{expires}");
    format!("{payload}.{}", csrf_signature(state, &payload))
}

fn csrf_signature(state: &AppState, payload: &str) -> String {
    use hmac::{Hmac, Mac};
    let key = state.config.page_key.unwrap_or_default();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return String::new();
    };
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `value` is a CSRF value we minted and that has not expired.
fn csrf_signed(state: &AppState, value: &str) -> bool {
    use hmac::{Hmac, Mac};
    let Some((payload, signature)) = value.rsplit_once('.') else {
        return false;
    };
    let Some((_, expires)) = payload.split_once('.') else {
        return false;
    };
    let fresh = expires.parse::<i64>().is_ok_and(|at| at > state.ports.clock.now().unix_micros() / 1_000_000);
    let Ok(signature) = hex_bytes(signature) else {
        return false;
    };
    let key = state.config.page_key.unwrap_or_default();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return false;
    };
    mac.update(payload.as_bytes());
    fresh && mac.verify_slice(&signature).is_ok()
}

fn hex_bytes(text: &str) -> Result<Vec<u8>, ()> {
    if !text.len().is_multiple_of(2) {
        return Err(());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()).ok_or(()))
        .collect()
}

pub(crate) fn cookie<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether a form post comes from our own page: the cookie is one we signed and equals the
/// form's field (compared as digests, so timing tells nothing), the browser does not call it
/// cross-site, and any `Origin` it names is ours.
pub(crate) fn csrf_ok(state: &AppState, req: &Request, field: &str) -> bool {
    let cross_site = req.header("sec-fetch-site").is_some_and(|site| !matches!(site, "same-origin" | "none"));
    // Under `Referrer-Policy: no-referrer` a browser sends `Origin: null` even for our own
    // form, so `null` passes only when the browser also says the post is same-origin.
    let same_origin = req.header("sec-fetch-site") == Some("same-origin");
    let foreign_origin = match (req.header("origin"), &state.config.public_origin) {
        (Some("null"), _) => !same_origin,
        (Some(origin), Some(ours)) => origin != ours,
        (Some(_), None) | (None, _) => false,
    };
    let digest = |value: &str| Sha256::digest(value.as_bytes());
    !cross_site
        && !foreign_origin
        && !field.is_empty()
        && cookie(req, CSRF_COOKIE)
            .is_some_and(|value| digest(value) == digest(field) && csrf_signed(state, value))
}
