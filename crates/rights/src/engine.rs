//! The rights engine: profiles compiled into route matchers, and the decision for a request.
//!
//! Within one profile the most specific matching rule gives the right (literal segments beat
//! `{name}`, which beats `**`; then a rule naming methods beats one that does not). Several
//! profiles combine to the highest right. `read` lets GET and HEAD through, `read-write`
//! every method; `none` and unmatched routes deny.

use crate::rules::{Right, RouteRule};
use std::borrow::Cow;
use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

#[derive(Clone, Debug)]
struct CompiledRule {
    pattern: String,
    segments: Vec<Segment>,
    /// Ends with `**`: zero or more further segments.
    rest: bool,
    methods: Option<Vec<String>>,
    right: Right,
}

impl CompiledRule {
    fn compile(route: &str, right: Right, methods: Option<&Vec<String>>) -> Self {
        let mut segments = Vec::new();
        let mut rest = false;
        for seg in route.split('/').filter(|s| !s.is_empty()) {
            if seg == "**" {
                rest = true;
                break;
            }
            segments.push(if seg.starts_with('{') && seg.ends_with('}') {
                Segment::Param
            } else {
                Segment::Literal(seg.to_owned())
            });
        }
        CompiledRule {
            pattern: route.to_owned(),
            segments,
            rest,
            methods: methods.map(|m| m.iter().map(|x| x.to_ascii_uppercase()).collect()),
            right,
        }
    }

    fn matches(&self, method: &str, path: &[Cow<'_, str>]) -> bool {
        if let Some(methods) = &self.methods
            && !methods.iter().any(|m| m.eq_ignore_ascii_case(method))
        {
            return false;
        }
        let fits = if self.rest {
            path.len() >= self.segments.len()
        } else {
            path.len() == self.segments.len()
        };
        fits && self.segments.iter().zip(path).all(|(s, p)| match s {
            Segment::Literal(l) => l == p,
            Segment::Param => true, // `path_segments` drops empty segments
        })
    }

    /// Segment by segment: literal 3, `{name}` 2; then how the pattern ends: exactly (4)
    /// beats `**` (1), so `/v1/orders` beats `/v1/orders/**` on `/v1/orders`; then a rule
    /// naming methods.
    fn specificity(&self) -> (Vec<u8>, bool) {
        let mut key: Vec<u8> = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(_) => 3,
                Segment::Param => 2,
            })
            .collect();
        key.push(if self.rest { 1 } else { 4 });
        (key, self.methods.is_some())
    }
}

/// One profile's rules, compiled once and kept most specific first.
#[derive(Clone, Debug)]
pub struct RuleSet {
    pub name: String,
    rules: Vec<CompiledRule>,
}

impl RuleSet {
    /// Compiles the rules of the profile `name`.
    pub fn new(name: &str, rules: &[RouteRule]) -> Self {
        let mut rules: Vec<CompiledRule> = rules
            .iter()
            .map(|r| CompiledRule::compile(&r.route, r.right, r.methods.as_ref()))
            .collect();
        // Stable: of two equally specific rules, the one listed first wins.
        rules.sort_by_key(|r| std::cmp::Reverse(r.specificity()));
        RuleSet {
            name: name.to_owned(),
            rules,
        }
    }

    /// The most specific rule matching the request, if any.
    fn rule_for(&self, method: &str, path: &[Cow<'_, str>]) -> Option<&CompiledRule> {
        self.rules.iter().find(|r| r.matches(method, path))
    }
}

/// The answer for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The highest right the profiles give on this route for this method.
    pub right: Right,
    /// The profile and pattern that gave it, when a rule matched.
    pub profile: Option<String>,
    pub rule: Option<String>,
    pub reason: String,
}

/// Splits a request path into percent-decoded segments: the query is dropped, empty
/// segments ignored. A path that is not absolute, has `.` or `..` segments (plain or encoded),
/// an encoded `/`, bad percent-encoding or a NUL gets `None`: never matched, always denied,
/// since the server behind may resolve it to another route than the one decided on.
pub fn path_segments(path: &str) -> Option<Vec<Cow<'_, str>>> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if !path.starts_with('/') {
        return None;
    }
    // Borrowed unless percent-encoded: forward-auth splits a path on every request.
    let mut segs = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let seg = percent_decode(raw)?;
        if seg == "." || seg == ".." || seg.contains(['/', '\\']) || seg.contains(char::is_control)
        {
            return None;
        }
        segs.push(seg);
    }
    Some(segs)
}

fn percent_decode(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('%') {
        return Some(Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// The rule deciding a request: of each profile its most specific matching rule, and of
/// those the highest right (the first listed among equals). `None` when none matches.
fn deciding_rule<'a>(
    profiles: impl IntoIterator<Item = &'a RuleSet>,
    method: &str,
    segs: &[Cow<'_, str>],
) -> Option<(&'a RuleSet, &'a CompiledRule)> {
    let mut best: Option<(&RuleSet, &CompiledRule)> = None;
    for set in profiles {
        if let Some(rule) = set.rule_for(method, segs) {
            let better = match best {
                None => true,
                Some((_, b)) => rule.right.cmp(&b.right) == Ordering::Greater,
            };
            if better {
                best = Some((set, rule));
            }
        }
    }
    best
}

/// Whether the request is allowed: [`decide`]'s `allowed` without the reason, profile and
/// rule it writes out (forward-auth needs those only to explain a denial).
pub fn allows<'a>(
    profiles: impl IntoIterator<Item = &'a RuleSet>,
    method: &str,
    path: &str,
) -> bool {
    path_segments(path)
        .and_then(|segs| deciding_rule(profiles, method, &segs))
        .is_some_and(|(_, rule)| rule.right.permits(method))
}

/// Decides a request against the rule sets of the caller's profiles.
pub fn decide<'a>(
    profiles: impl IntoIterator<Item = &'a RuleSet>,
    method: &str,
    path: &str,
) -> Decision {
    let deny = |reason: &str| Decision {
        allowed: false,
        right: Right::None,
        profile: None,
        rule: None,
        reason: reason.to_owned(),
    };
    let Some(segs) = path_segments(path) else {
        return deny("the path is not a plain absolute path");
    };
    let Some((set, rule)) = deciding_rule(profiles, method, &segs) else {
        return deny("no rule of the caller's profiles matches this route");
    };
    let allowed = rule.right.permits(method);
    let reason = if allowed {
        format!(
            "{} grants {} on {}",
            set.name,
            rule.right.as_str(),
            rule.pattern
        )
    } else if rule.right == Right::None {
        format!("{} denies {}", set.name, rule.pattern)
    } else {
        format!(
            "{} grants only {} on {}, not {method}",
            set.name,
            rule.right.as_str(),
            rule.pattern
        )
    };
    Decision {
        allowed,
        right: rule.right,
        profile: Some(set.name.clone()),
        rule: Some(rule.pattern.clone()),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn profile(name: &str, rules: &[(&str, Right, Option<&[&str]>)]) -> RuleSet {
        let rules: Vec<RouteRule> = rules
            .iter()
            .map(|(route, right, methods)| RouteRule {
                route: (*route).into(),
                right: *right,
                methods: methods.map(|m| m.iter().map(|s| (*s).to_owned()).collect()),
            })
            .collect();
        RuleSet::new(name, &rules)
    }

    #[test]
    fn table() {
        let buyer = profile(
            "buyer",
            &[
                ("/v1/orders/**", Right::Read, None),
                ("/v1/cart/**", Right::ReadWrite, None),
                ("/v1/orders/{id}/cancel", Right::ReadWrite, None),
                ("/v1/orders/secret", Right::None, None),
                ("/v1/reviews", Right::ReadWrite, Some(&["POST"])),
                ("/v1/reviews", Right::Read, None),
            ],
        );
        let cases = [
            ("GET", "/v1/orders", true),
            ("GET", "/v1/orders/42", true),
            ("HEAD", "/v1/orders/42/lines/1", true),
            ("POST", "/v1/orders/42", false),
            ("POST", "/v1/orders/42/cancel", true),
            ("GET", "/v1/orders/secret", false),
            ("DELETE", "/v1/cart/items/3", true),
            ("GET", "/v1/cart", true),
            ("POST", "/v1/reviews", true),
            ("PUT", "/v1/reviews", false),
            ("GET", "/v1/reviews?page=2", true),
            ("GET", "/v1/catalog", false),
            ("GET", "/v1/orders/../admin", false),
            ("GET", "v1/orders", false),
            ("GET", "//v1//orders/", true),
            ("GET", "/v1/orders/%2e%2e/admin", false),
            ("GET", "/v1/orders/..%2Fadmin", false),
            ("GET", "/v1/orders/%2E", false),
            ("GET", "/v1/orders/%zz", false),
            ("GET", "/v1/orders/%34%32", true),
            ("GET", "/v1/orders/secre%74", false),
        ];
        for (method, path, allowed) in cases {
            let d = decide([&buyer], method, path);
            assert_eq!(d.allowed, allowed, "{method} {path}: {}", d.reason);
            assert_eq!(allows([&buyer], method, path), allowed, "{method} {path}");
        }
        let d = decide([&buyer], "POST", "/v1/orders/42");
        assert_eq!(d.rule.as_deref(), Some("/v1/orders/**"));
        assert_eq!(
            d.reason,
            "buyer grants only read on /v1/orders/**, not POST"
        );
        assert!(!decide([], "GET", "/v1/orders").allowed);
    }

    #[test]
    fn an_exact_route_beats_a_wildcard_on_its_own_path() {
        let p = profile(
            "p",
            &[
                ("/v1/orders/**", Right::Read, None),
                ("/v1/orders", Right::None, None),
            ],
        );
        assert!(!decide([&p], "GET", "/v1/orders").allowed);
        assert!(decide([&p], "GET", "/v1/orders/1").allowed);
        let q = profile(
            "q",
            &[
                ("/v1/{any}", Right::None, None),
                ("/v1/orders/**", Right::Read, None),
            ],
        );
        assert!(
            decide([&q], "GET", "/v1/orders").allowed,
            "a literal beats a placeholder"
        );
    }

    #[test]
    fn the_highest_right_of_several_profiles_wins() {
        let reader = profile("reader", &[("/v1/**", Right::Read, None)]);
        let writer = profile("writer", &[("/v1/cart/**", Right::ReadWrite, None)]);
        let blocked = profile("blocked", &[("/v1/cart/**", Right::None, None)]);
        let d = decide([&reader, &blocked, &writer], "POST", "/v1/cart/1");
        assert!(d.allowed);
        assert_eq!(d.profile.as_deref(), Some("writer"));
        assert!(!decide([&reader, &blocked], "POST", "/v1/cart/1").allowed);
        assert!(decide([&blocked, &reader], "GET", "/v1/cart/1").allowed);
    }

    fn right() -> impl Strategy<Value = Right> {
        prop_oneof![Just(Right::None), Just(Right::Read), Just(Right::ReadWrite)]
    }

    /// Routes under `/a` or `/b`, with literals, placeholders and `**`.
    fn route() -> impl Strategy<Value = String> {
        let first = prop_oneof![Just("a"), Just("b")];
        let more = prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("{id}")], 0..3);
        (first, more, any::<bool>()).prop_map(|(first, more, rest)| {
            let mut r = format!("/{first}");
            for seg in more {
                r = format!("{r}/{seg}");
            }
            if rest {
                r.push_str("/**");
            }
            r
        })
    }

    fn method() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("GET"), Just("HEAD"), Just("POST"), Just("DELETE")]
    }

    proptest! {
        /// Adding a profile never takes a right away, and the decision is the highest of the
        /// profiles' own decisions.
        #[test]
        fn combining_profiles_gives_the_highest_right(
            a in prop::collection::vec((route(), right()), 0..5),
            b in prop::collection::vec((route(), right()), 0..5),
            path in prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 0..5),
            m in method(),
        ) {
            let ra: Vec<_> = a.iter().map(|(r, x)| (r.as_str(), *x, None)).collect();
            let rb: Vec<_> = b.iter().map(|(r, x)| (r.as_str(), *x, None)).collect();
            let pa = profile("a", &ra);
            let pb = profile("b", &rb);
            let path = format!("/{}", path.join("/"));
            let da = decide([&pa], m, &path);
            let db = decide([&pb], m, &path);
            let both = decide([&pa, &pb], m, &path);
            prop_assert_eq!(both.allowed, da.allowed || db.allowed);
            prop_assert_eq!(both.right, da.right.max(db.right));
        }

        /// `allows` answers as `decide` does, whatever the profiles, method and path
        /// (encoded, dotted and relative paths included).
        #[test]
        fn allows_agrees_with_decide(
            a in prop::collection::vec((route(), right()), 0..5),
            b in prop::collection::vec((route(), right()), 0..5),
            path in prop::collection::vec(
                prop_oneof![Just("a"), Just("b"), Just("%61"), Just(".."), Just("%zz"), Just("")],
                0..5,
            ),
            absolute in any::<bool>(),
            m in method(),
        ) {
            let ra: Vec<_> = a.iter().map(|(r, x)| (r.as_str(), *x, None)).collect();
            let rb: Vec<_> = b.iter().map(|(r, x)| (r.as_str(), *x, None)).collect();
            let pa = profile("a", &ra);
            let pb = profile("b", &rb);
            let path = format!("{}{}", if absolute { "/" } else { "" }, path.join("/"));
            prop_assert_eq!(allows([&pa, &pb], m, &path), decide([&pa, &pb], m, &path).allowed);
        }

        /// A route no rule matches is denied, whatever the method.
        #[test]
        fn unmatched_routes_deny(
            a in prop::collection::vec((route(), right()), 0..5),
            m in method(),
        ) {
            let rules: Vec<_> = a.iter().map(|(r, x)| (r.as_str(), *x, None)).collect();
            let p = profile("a", &rules);
            let d = decide([&p], m, "/zzz/unmatched");
            prop_assert!(!d.allowed);
            prop_assert_eq!(d.right, Right::None);
        }
    }
}
