//! Route patterns and request paths: only valid patterns compile, deciding never panics, and
//! an allowed request is one whose path is plain and whose method the right permits.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use portcullis_rights::{Right, RouteRule, RuleSet, decide, path_segments, validate_rules};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    rules: Vec<(&'a str, u8, Option<Vec<&'a str>>)>,
    method: &'a str,
    path: &'a str,
}

fuzz_target!(|input: Input| {
    let rights = [Right::None, Right::Read, Right::ReadWrite];
    let rules: Vec<RouteRule> = input
        .rules
        .iter()
        .map(|(route, right, methods)| RouteRule {
            route: (*route).to_owned(),
            right: rights[usize::from(*right) % 3],
            methods: methods
                .as_ref()
                .map(|m| m.iter().map(|s| (*s).to_owned()).collect()),
        })
        .collect();
    if validate_rules(&rules).is_err() {
        return;
    }
    let set = RuleSet::new("fuzz", &rules);
    let decision = decide([&set], input.method, input.path);
    if decision.allowed {
        assert!(decision.right.permits(input.method), "{decision:?}");
        let segments = path_segments(input.path).expect("an allowed path is a plain path");
        assert!(
            segments
                .iter()
                .all(|s| s != "." && s != ".." && !s.contains('/')),
            "{segments:?}"
        );
    }
});
