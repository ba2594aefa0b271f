//! The rights engine (from `portcullis-rights`): profiles compiled into route matchers, and
//! the decision for a request.

pub use portcullis_rights::{Decision, RuleSet, allows, decide, path_segments};
