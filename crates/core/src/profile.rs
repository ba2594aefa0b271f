//! Profiles: named sets of per-route rights given to users (DJUST guide). Evaluation of the
//! rules against requests belongs to the rights engine; here they are data.

use crate::ids::{ProfileId, TenantId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub id: ProfileId,
    pub tenant_id: TenantId,
    pub name: String,
    pub rules: Vec<RouteRule>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// A path template: `/v1/orders/{id}`, `/v1/catalog/**`.
    pub route: String,
    pub right: Right,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Right {
    None,
    /// GET and HEAD.
    Read,
    /// Every method.
    ReadWrite,
}

/// A route pattern must be an absolute path; `**` only as a whole last segment; `{name}`
/// segments hold one path segment.
pub fn validate_route(route: &str) -> Result<(), &'static str> {
    if !route.starts_with('/') {
        return Err("route must start with /");
    }
    if route.len() > 512 || route.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("route must be at most 512 characters without spaces");
    }
    let segments: Vec<&str> = route[1..].split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        if seg.contains("**") && (*seg != "**" || i + 1 != segments.len()) {
            return Err("** may only be the whole last segment");
        }
        if seg.contains('{') || seg.contains('}') {
            let ok = seg.starts_with('{')
                && seg.ends_with('}')
                && seg.len() > 2
                && !seg[1..seg.len() - 1].contains(['{', '}']);
            if !ok {
                return Err("a {name} placeholder must be a whole segment");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        for ok in ["/", "/v1/orders/{id}", "/v1/catalog/**", "/v1/cart/**"] {
            assert!(validate_route(ok).is_ok(), "{ok}");
        }
        for bad in [
            "v1",
            "/v1/**/x",
            "/v1/a**",
            "/v1/{id",
            "/v1/x{id}",
            "/v1/{}",
            "/a b",
        ] {
            assert!(validate_route(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rights_order() {
        assert!(Right::ReadWrite > Right::Read && Right::Read > Right::None);
    }
}
