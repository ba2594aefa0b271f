//! Per-route rights: profiles are lists of rules (route pattern, right, methods), compiled
//! into matchers and evaluated for a request. Shared by the Portcullis core (forward-auth,
//! `/v1/authorize`, the admin API) and by `portcullis-guard` in resource servers, so both
//! decide alike.
//!
//! May depend on: serde. Nothing else: it is small on purpose.

mod engine;
mod rules;

pub use engine::{Decision, RuleSet, allows, decide, path_segments};
pub use rules::{Right, RouteRule, validate_method, validate_name, validate_route, validate_rules};
