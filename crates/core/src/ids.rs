//! Typed identifiers. UUIDv7 so rows created together sit together in indexes.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(/// A tenant: one platform customer.
    TenantId);
id_type!(/// A store (shop, company) inside a tenant.
    StorefrontId);
id_type!(/// A client application of a tenant.
    AppId);
id_type!(/// A user of a tenant.
    UserId);
id_type!(/// A profile (set of route rights) of a tenant.
    ProfileId);
id_type!(/// A session: one login and the credentials issued for it.
    SessionId);
id_type!(/// An audit event.
    AuditId);
id_type!(/// A message waiting in (or delivered from) the outbox.
    MessageId);
id_type!(/// A basket (JRNI): items a guest or member is about to book.
    BasketId);
id_type!(/// A purchase (JRNI): a checked-out basket.
    PurchaseId);
id_type!(/// A device (phone, tablet) known to a tenant by its code.
    DeviceId);
