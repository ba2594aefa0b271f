//! Rules as data: a route pattern, the right it gives, the methods it is for; and their
//! validation.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// A path template: `/v1/orders/{id}`, `/v1/catalog/**`.
    pub route: String,
    pub right: Right,
    /// Only for these HTTP methods (upper case); absent: every method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
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

impl Right {
    /// `none`, `read` or `read-write`, as `as_str` writes them.
    pub fn parse(s: &str) -> Option<Self> {
        [Right::None, Right::Read, Right::ReadWrite]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Right::None => "none",
            Right::Read => "read",
            Right::ReadWrite => "read-write",
        }
    }
    /// Whether this right lets a request with `method` through.
    pub fn permits(self, method: &str) -> bool {
        match self {
            Right::None => false,
            Right::Read => {
                method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD")
            }
            Right::ReadWrite => true,
        }
    }
}

/// An HTTP method token (RFC 9110): 1 to 32 upper-case letters.
pub fn validate_method(m: &str) -> Result<(), &'static str> {
    if m.is_empty() || m.len() > 32 || !m.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err("a method is 1 to 32 upper-case letters, e.g. GET");
    }
    Ok(())
}

/// A profile name: 1 to 128 characters without spaces or control characters.
pub fn validate_name(name: &str) -> Result<(), &'static str> {
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '/' | '%' | ',');
    if name.is_empty() || name.len() > 128 || name.chars().any(bad) || name == "." || name == ".." {
        return Err("must be 1-128 characters without spaces, /, % or commas, and not . or ..");
    }
    Ok(())
}

/// Checks every rule; on the first bad one, its index, the field (`route` or `methods`) and why.
pub fn validate_rules(rules: &[RouteRule]) -> Result<(), (usize, &'static str, String)> {
    if rules.len() > 1000 {
        return Err((1000, "route", "at most 1000 rules a profile".into()));
    }
    for (k, r) in rules.iter().enumerate() {
        validate_route(&r.route).map_err(|m| (k, "route", m.to_owned()))?;
        if r.methods.as_ref().is_some_and(Vec::is_empty) {
            return Err((
                k,
                "methods",
                "an empty list matches nothing; leave it out".into(),
            ));
        }
        for m in r.methods.iter().flatten() {
            validate_method(m).map_err(|e| (k, "methods", format!("{m:?}: {e}")))?;
        }
    }
    Ok(())
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
    // Paths are matched decoded, so patterns are written decoded too.
    if route.contains(['%', '?', '#', '\\']) {
        return Err("route must be a decoded path: no %, ?, # or \\");
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
            "/caf%C3%A9",
            "/x?y",
        ] {
            assert!(validate_route(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rights_order() {
        assert!(Right::ReadWrite > Right::Read && Right::Read > Right::None);
    }
}
