//! Signing keys: generated per tenant, private halves sealed under the master key at rest,
//! public halves published as a JWKS. `KeyRing` holds them decrypted and parsed in memory.

use crate::clock::Timestamp;
use crate::error::{CoreError, CoreResult};
use crate::ids::TenantId;
use crate::secret::{self, MasterKey};
use crate::tenant::SigningAlg;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use std::collections::HashMap;
use zeroize::Zeroizing;

/// A signing key as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    /// RFC 7638 thumbprint of the public key.
    pub kid: String,
    pub tenant_id: TenantId,
    pub alg: SigningAlg,
    /// The public JWK, as JSON.
    pub public_jwk: String,
    /// PKCS#8 DER of the private key, sealed under the master key with the kid as AAD.
    pub private_sealed: Vec<u8>,
    pub created_at: Timestamp,
    /// After this time the key neither signs nor verifies and leaves the JWKS. `None` while
    /// it is the tenant's current key.
    pub not_after: Option<Timestamp>,
}

const PURPOSE: &str = "signing-key";

fn jwt_alg(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::EdDSA => Algorithm::EdDSA,
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::ES256 => Algorithm::ES256,
    }
}

fn encoding_key(alg: SigningAlg, pkcs8: &[u8]) -> CoreResult<EncodingKey> {
    Ok(match alg {
        SigningAlg::EdDSA => EncodingKey::from_ed_der(pkcs8),
        SigningAlg::ES256 => EncodingKey::from_ec_der(pkcs8),
        // jsonwebtoken wants PKCS#1 for RSA; its PEM reader unwraps PKCS#8 for us.
        SigningAlg::RS256 => {
            let pem = Zeroizing::new(pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.to_vec())));
            EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(CoreError::internal)?
        }
    })
}

/// A private key parsed once, at load. `jsonwebtoken::encode` parses its `EncodingKey` again
/// for every token, and for Ed25519 and P-256 that parse derives the public key: as much work
/// as the signature itself (bench/, "jwt/sign").
enum Signer {
    Ed25519(Ed25519KeyPair),
    P256(EcdsaKeyPair),
    Rsa(aws_lc_rs::rsa::KeyPair),
}

impl Signer {
    fn parse(alg: SigningAlg, pkcs8: &[u8]) -> CoreResult<Self> {
        Ok(match alg {
            SigningAlg::EdDSA => {
                Signer::Ed25519(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(CoreError::internal)?)
            }
            SigningAlg::ES256 => Signer::P256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(CoreError::internal)?,
            ),
            SigningAlg::RS256 => Signer::Rsa(
                aws_lc_rs::rsa::KeyPair::from_pkcs8(pkcs8).map_err(CoreError::internal)?,
            ),
        })
    }

    /// The JWS signature of `message`, as RFC 7518 encodes it for the key's algorithm
    /// (ES256: the fixed-width `r || s`).
    fn sign(&self, message: &[u8]) -> CoreResult<Vec<u8>> {
        Ok(match self {
            Signer::Ed25519(key) => key.sign(message).as_ref().to_vec(),
            Signer::P256(key) => key
                .sign(&SystemRandom::new(), message)
                .map_err(CoreError::internal)?
                .as_ref()
                .to_vec(),
            Signer::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(CoreError::internal)?;
                signature
            }
        })
    }
}

fn b64_json<T: Serialize>(value: &T) -> CoreResult<String> {
    Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).map_err(CoreError::internal)?))
}

/// Generate a new key for `tenant_id`, sealed with `master`.
pub fn generate(
    tenant_id: TenantId,
    alg: SigningAlg,
    master: &MasterKey,
    now: Timestamp,
) -> CoreResult<StoredKey> {
    let rng = SystemRandom::new();
    let pkcs8: Zeroizing<Vec<u8>> = Zeroizing::new(match alg {
        SigningAlg::EdDSA => Ed25519KeyPair::generate_pkcs8v1(&rng)
            .map_err(CoreError::internal)?
            .as_ref()
            .to_vec(),
        SigningAlg::ES256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(CoreError::internal)?
            .as_ref()
            .to_vec(),
        SigningAlg::RS256 => aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(CoreError::internal)?
            .as_der()
            .map_err(CoreError::internal)?
            .as_ref()
            .to_vec(),
    });
    let enc = encoding_key(alg, &pkcs8)?;
    let mut jwk = Jwk::from_encoding_key(&enc, jwt_alg(alg)).map_err(CoreError::internal)?;
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(CoreError::internal)?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let sealed = secret::seal(&master.purpose_key(PURPOSE), kid.as_bytes(), &pkcs8)
        .map_err(CoreError::internal)?;
    Ok(StoredKey {
        kid,
        tenant_id,
        alg,
        public_jwk: serde_json::to_string(&jwk).map_err(CoreError::internal)?,
        private_sealed: sealed,
        created_at: now,
        not_after: None,
    })
}

/// A key ready to use.
pub struct LoadedKey {
    pub kid: String,
    pub tenant_id: TenantId,
    pub alg: SigningAlg,
    pub jwk: Jwk,
    signer: Signer,
    /// The encoded JWT header of this key's tokens (`typ`, `alg`, `kid`): the same for all.
    header: String,
    pub decoding: DecodingKey,
    pub not_after: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl LoadedKey {
    pub fn jwt_alg(&self) -> Algorithm {
        jwt_alg(self.alg)
    }
    pub fn usable_at(&self, now: Timestamp) -> bool {
        self.not_after.is_none_or(|t| now < t)
    }

    /// A JWT of `claims` signed with this key, its header naming the key (`kid`): what
    /// `jsonwebtoken::encode` makes, with the key parsed once rather than per token.
    pub fn sign_jwt<T: Serialize>(&self, claims: &T) -> CoreResult<String> {
        let mut jwt = self.header.clone();
        jwt.push('.');
        jwt.push_str(&b64_json(claims)?);
        let signature = self.signer.sign(jwt.as_bytes())?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jwt);
        Ok(jwt)
    }
}

/// All keys of all tenants, decrypted once at load.
#[derive(Default)]
pub struct KeyRing {
    by_kid: HashMap<String, LoadedKey>,
    current: HashMap<TenantId, String>,
}

impl KeyRing {
    pub fn load(stored: &[StoredKey], master: &MasterKey) -> CoreResult<Self> {
        let mut ring = KeyRing::default();
        let unseal_key = master.purpose_key(PURPOSE);
        for k in stored {
            let pkcs8 = secret::open(&unseal_key, k.kid.as_bytes(), &k.private_sealed).map_err(|_| {
                CoreError::Internal(format!(
                    "signing key {} cannot be decrypted: is this the master key the database was created with?",
                    k.kid
                ))
            })?;
            let jwk: Jwk = serde_json::from_str(&k.public_jwk).map_err(CoreError::internal)?;
            let decoding = DecodingKey::from_jwk(&jwk).map_err(CoreError::internal)?;
            let loaded = LoadedKey {
                kid: k.kid.clone(),
                tenant_id: k.tenant_id,
                alg: k.alg,
                jwk,
                signer: Signer::parse(k.alg, &pkcs8)?,
                header: b64_json(&Header {
                    kid: Some(k.kid.clone()),
                    ..Header::new(jwt_alg(k.alg))
                })?,
                decoding,
                not_after: k.not_after,
                created_at: k.created_at,
            };
            if k.not_after.is_none() {
                let newer = ring
                    .current
                    .get(&k.tenant_id)
                    .and_then(|kid| ring.by_kid.get(kid))
                    .is_none_or(|cur| cur.created_at <= k.created_at);
                if newer {
                    ring.current.insert(k.tenant_id, k.kid.clone());
                }
            }
            ring.by_kid.insert(k.kid.clone(), loaded);
        }
        Ok(ring)
    }

    pub fn current(&self, tenant: TenantId) -> Option<&LoadedKey> {
        self.current
            .get(&tenant)
            .and_then(|kid| self.by_kid.get(kid))
    }

    pub fn get(&self, kid: &str) -> Option<&LoadedKey> {
        self.by_kid.get(kid)
    }

    /// The public keys still in use at `now`, for the JWKS.
    pub fn published(&self, now: Timestamp) -> Vec<&Jwk> {
        let mut keys: Vec<&LoadedKey> = self.by_kid.values().filter(|k| k.usable_at(now)).collect();
        keys.sort_by(|a, b| {
            (a.tenant_id, a.created_at, &a.kid).cmp(&(b.tenant_id, b.created_at, &b.kid))
        });
        keys.into_iter().map(|k| &k.jwk).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_generates_loads_and_publishes() {
        let master = MasterKey::from_text(&"m".repeat(40)).unwrap();
        let tenant = TenantId::new();
        for alg in [SigningAlg::EdDSA, SigningAlg::ES256, SigningAlg::RS256] {
            let k = generate(tenant, alg, &master, Timestamp(0)).unwrap();
            assert!(
                !k.private_sealed.windows(8).any(|w| k
                    .public_jwk
                    .as_bytes()
                    .windows(8)
                    .any(|p| p == w))
            );
            let ring = KeyRing::load(std::slice::from_ref(&k), &master).unwrap();
            assert_eq!(ring.current(tenant).unwrap().kid, k.kid);
            let published = ring.published(Timestamp(0));
            assert_eq!(published.len(), 1);
            assert_eq!(published[0].common.key_id.as_deref(), Some(k.kid.as_str()));
        }
    }

    #[test]
    fn every_algorithm_signs_what_jsonwebtoken_verifies() {
        let master = MasterKey::from_text(&"m".repeat(40)).unwrap();
        let claims = serde_json::json!({"sub": "someone", "aud": "acme", "exp": 4_000_000_000u64});
        for alg in [SigningAlg::EdDSA, SigningAlg::ES256, SigningAlg::RS256] {
            let k = generate(TenantId::new(), alg, &master, Timestamp(0)).unwrap();
            let ring = KeyRing::load(std::slice::from_ref(&k), &master).unwrap();
            let key = ring.get(&k.kid).unwrap();
            let jwt = key.sign_jwt(&claims).unwrap();
            let header = jsonwebtoken::decode_header(&jwt).unwrap();
            assert_eq!(header.alg, key.jwt_alg());
            assert_eq!(header.kid.as_deref(), Some(k.kid.as_str()));
            assert_eq!(header.typ.as_deref(), Some("JWT"));
            let mut validation = jsonwebtoken::Validation::new(key.jwt_alg());
            validation.set_audience(&["acme"]);
            let decoded =
                jsonwebtoken::decode::<serde_json::Value>(&jwt, &key.decoding, &validation)
                    .unwrap();
            assert_eq!(decoded.claims, claims);
            // A changed payload does not verify under the same signature.
            let mut parts: Vec<&str> = jwt.split('.').collect();
            let forged =
                URL_SAFE_NO_PAD.encode(br#"{"sub":"other","aud":"acme","exp":4000000000}"#);
            parts[1] = &forged;
            assert!(
                jsonwebtoken::decode::<serde_json::Value>(
                    &parts.join("."),
                    &key.decoding,
                    &validation
                )
                .is_err()
            );
        }
    }

    #[test]
    fn wrong_master_key_is_refused() {
        let k = generate(
            TenantId::new(),
            SigningAlg::EdDSA,
            &MasterKey::from_text(&"a".repeat(32)).unwrap(),
            Timestamp(0),
        )
        .unwrap();
        let err = KeyRing::load(&[k], &MasterKey::from_text(&"b".repeat(32)).unwrap())
            .err()
            .unwrap();
        assert!(err.to_string().contains("internal"));
    }

    #[test]
    fn retired_keys_leave_the_jwks() {
        let master = MasterKey::from_text(&"m".repeat(40)).unwrap();
        let tenant = TenantId::new();
        let mut old = generate(tenant, SigningAlg::EdDSA, &master, Timestamp(0)).unwrap();
        old.not_after = Some(Timestamp(1000));
        let new = generate(tenant, SigningAlg::EdDSA, &master, Timestamp(10)).unwrap();
        let ring = KeyRing::load(&[old.clone(), new.clone()], &master).unwrap();
        assert_eq!(ring.current(tenant).unwrap().kid, new.kid);
        assert_eq!(ring.published(Timestamp(999)).len(), 2);
        assert_eq!(ring.published(Timestamp(1000)).len(), 1);
    }
}
