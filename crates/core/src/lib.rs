//! The Portcullis identity core: tenants, client apps, users, sessions, tokens, password policy
//! and hashing, signing keys, profiles and audit. It defines the `Store` port that storage
//! backends implement and the `Core` service that every API (native and dialects) calls.
//!
//! May depend on: crypto, serde and tokio crates. Must not depend on HTTP or SQL crates.

pub mod app;
pub mod audit;
pub mod basket;
pub mod clock;
pub mod device;
pub mod directory;
pub mod error;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod opaque;
pub mod outbox;
pub mod password;
pub mod policy;
pub mod profile;
pub mod provisioning;
pub mod reset;
pub mod rights;
pub mod secret;
pub mod service;
pub mod session;
pub mod snapshot;
pub mod store;
pub mod tenant;
pub mod token;
pub mod user;
pub mod validation;

pub use clock::{Clock, SystemClock, Timestamp};
pub use error::{CoreError, CoreResult};
pub use service::{Core, CoreSettings, ExtraClaims as ExtraClaimsFn};
pub use store::{Store, StoreError, StoreResult};

#[doc(hidden)]
pub use async_trait::async_trait as __async_trait;
