//! Profiles: named sets of per-route rights given to users (DJUST guide). The rules and the
//! engine that evaluates them live in `portcullis-rights`, shared with `portcullis-guard`.

use crate::ids::{ProfileId, TenantId};

pub use portcullis_rights::{
    Right, RouteRule, validate_method, validate_name, validate_route, validate_rules,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub id: ProfileId,
    pub tenant_id: TenantId,
    pub name: String,
    pub rules: Vec<RouteRule>,
}
