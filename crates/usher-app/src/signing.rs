//! The access-token signer: Ed25519 keys (EdDSA JWTs, RFC 8037) whose private halves are
//! sealed with AES-256-GCM under the operator's `USHER_TOKEN_KEY` before they reach the store.
//! A copy of the database alone therefore cannot mint tokens, and a key sealed under another
//! installation's key, or moved to another id, does not open.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};

use usher_domain::id::SigningKeyId;
use usher_domain::model::{AccessClaims, SigningKey};
use usher_domain::ports::{AccessTokenSigner, SigningError};
use usher_domain::time::Timestamp;

/// How a sealed private key starts: the format version.
const SEALED_PREFIX: &str = "v1.";

/// Signs with Ed25519 keys sealed under the installation's token key.
pub struct Ed25519Signer {
    sealing: LessSafeKey,
    issuer: String,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Signer").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// The claims as they travel: the domain's, plus who issued them.
#[derive(Serialize, Deserialize)]
struct Wire {
    iss: String,
    #[serde(flatten)]
    claims: AccessClaims,
}

impl Ed25519Signer {
    /// A signer sealing with `token_key` whose tokens name `issuer` (the public URL).
    pub fn new(token_key: [u8; 32], issuer: &str) -> Result<Ed25519Signer, SigningError> {
        let key =
            UnboundKey::new(&AES_256_GCM, &token_key).map_err(|_| SigningError("bad token key".into()))?;
        Ok(Ed25519Signer { sealing: LessSafeKey::new(key), issuer: issuer.trim_end_matches('/').to_owned() })
    }

    fn seal(&self, id: SigningKeyId, seed: &[u8; 32]) -> Result<String, SigningError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|err| SigningError(err.to_string()))?;
        let mut sealed = seed.to_vec();
        self.sealing
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(id.to_string().as_bytes()),
                &mut sealed,
            )
            .map_err(|_| SigningError("sealing failed".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(blob)))
    }

    fn unseal(&self, key: &SigningKey) -> Result<ed25519_dalek::SigningKey, SigningError> {
        let wrong = || SigningError(format!("signing key {} does not open with USHER_TOKEN_KEY", key.id));
        let encoded = key.sealed_private_key.strip_prefix(SEALED_PREFIX).ok_or_else(wrong)?;
        let blob = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| wrong())?;
        let (nonce, sealed) = blob.split_at_checked(NONCE_LEN).ok_or_else(wrong)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut sealed = sealed.to_vec();
        let seed = self
            .sealing
            .open_in_place(nonce, Aad::from(key.id.to_string().as_bytes()), &mut sealed)
            .map_err(|_| wrong())?;
        let seed: [u8; 32] = seed.try_into().map_err(|_| wrong())?;
        Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
    }
}

impl AccessTokenSigner for Ed25519Signer {
    fn new_key(&self, id: SigningKeyId, now: Timestamp) -> Result<SigningKey, SigningError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|err| SigningError(err.to_string()))?;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        Ok(SigningKey {
            id,
            public_key: URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
            sealed_private_key: self.seal(id, &seed)?,
            created_at: now,
            retired_at: None,
        })
    }

    fn sign(&self, key: &SigningKey, claims: &AccessClaims) -> Result<String, SigningError> {
        let der = self.unseal(key)?.to_pkcs8_der().map_err(|err| SigningError(err.to_string()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.id.to_string());
        let wire = Wire { iss: self.issuer.clone(), claims: claims.clone() };
        jsonwebtoken::encode(&header, &wire, &EncodingKey::from_ed_der(der.as_bytes()))
            .map_err(|err| SigningError(err.to_string()))
    }

    fn verify(&self, token: &str, keys: &[SigningKey]) -> Option<AccessClaims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::EdDSA {
            return None;
        }
        let kid = header.kid?;
        let key = keys.iter().find(|key| key.id.to_string() == kid)?;
        let decoding = DecodingKey::from_ed_components(&key.public_key).ok()?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Expiry is the domain's to judge, against its clock.
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp", "iss", "sub"].iter().map(|c| (*c).to_owned()).collect();
        validation.set_issuer(&[&self.issuer]);
        jsonwebtoken::decode::<Wire>(token, &decoding, &validation).ok().map(|data| data.claims.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AccessClaims {
        AccessClaims {
            sub: uuid::Uuid::from_u128(1),
            sid: uuid::Uuid::from_u128(2),
            jti: uuid::Uuid::from_u128(3),
            iat: 1_700_000_000,
            exp: 1_700_000_300,
            username: "ada".into(),
            account: uuid::Uuid::from_u128(4),
            root: uuid::Uuid::from_u128(4),
            scope: "users:read".into(),
            accounts_in_scope: vec![uuid::Uuid::from_u128(4)],
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_unix_micros(1_700_000_000_000_000).unwrap()
    }

    #[test]
    fn r13_a_token_verifies_with_its_key_and_no_other() {
        let signer = Ed25519Signer::new([7; 32], "https://usher.example/").unwrap();
        let key = signer.new_key(SigningKeyId::from_uuid(uuid::Uuid::from_u128(9)), now()).unwrap();
        let other = signer.new_key(SigningKeyId::from_uuid(uuid::Uuid::from_u128(10)), now()).unwrap();
        let token = signer.sign(&key, &claims()).unwrap();
        assert_eq!(signer.verify(&token, std::slice::from_ref(&key)), Some(claims()));
        assert_eq!(signer.verify(&token, std::slice::from_ref(&other)), None, "another kid");
        let forged = SigningKey { public_key: other.public_key, ..key.clone() };
        assert_eq!(signer.verify(&token, &[forged]), None, "another public key under the same kid");
        let elsewhere = Ed25519Signer::new([7; 32], "https://other.example").unwrap();
        assert_eq!(elsewhere.verify(&token, &[key]), None, "another issuer");
    }

    #[test]
    fn r13_a_sealed_key_opens_only_with_its_token_key_and_under_its_id() {
        let signer = Ed25519Signer::new([7; 32], "https://usher.example").unwrap();
        let key = signer.new_key(SigningKeyId::from_uuid(uuid::Uuid::from_u128(9)), now()).unwrap();
        assert!(!key.sealed_private_key.contains(&key.public_key));
        let stranger = Ed25519Signer::new([8; 32], "https://usher.example").unwrap();
        assert!(stranger.sign(&key, &claims()).is_err(), "another installation's token key");
        let moved = SigningKey { id: SigningKeyId::from_uuid(uuid::Uuid::from_u128(11)), ..key };
        assert!(signer.sign(&moved, &claims()).is_err(), "a sealed key moved to another id");
    }
}
