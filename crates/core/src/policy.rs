//! Password policies. A check reports every violation at once, each with a stable code, so a
//! client can show them all in one go.

use serde::{Deserialize, Serialize};

/// The seeds' special characters (DJUST guide).
pub const SPECIAL_CHARACTERS: &str = "~`!@#$%^&*()-_+={}[]|;:\"<>,./?";

/// Longest password accepted, in bytes: bounds the hashing work an attacker can ask for.
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PolicyLevel {
    /// The seeds' rule: 8+ characters with upper, lower, digit and a special character.
    #[default]
    Default,
    /// JFW Low: 5+ characters, not equal to the e-mail.
    Low,
    /// JFW Medium: 6+ characters with a digit, a non-alphanumeric character and mixed case.
    Medium,
    /// JFW High: Medium's rule, and a password expires 90 days after it was set.
    High,
}

impl PolicyLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyLevel::Default => "default",
            PolicyLevel::Low => "low",
            PolicyLevel::Medium => "medium",
            PolicyLevel::High => "high",
        }
    }
    /// How long a password stays valid: 90 days at JFW's High level, forever otherwise.
    pub fn max_age(self) -> Option<std::time::Duration> {
        match self {
            PolicyLevel::High => Some(std::time::Duration::from_secs(90 * 24 * 3600)),
            _ => None,
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "default" => Some(PolicyLevel::Default),
            "low" => Some(PolicyLevel::Low),
            "medium" => Some(PolicyLevel::Medium),
            "high" => Some(PolicyLevel::High),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub code: &'static str,
    pub message: String,
}

impl Violation {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// What the password is checked against besides itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct PolicyContext<'a> {
    pub email: Option<&'a str>,
    pub username: Option<&'a str>,
}

struct Rule {
    min_chars: usize,
    upper: bool,
    lower: bool,
    digit: bool,
    /// `Some(set)`: a character of the set; `None` with `special_any`: any non-alphanumeric.
    special_set: Option<&'static str>,
    special_any: bool,
    not_identifier: bool,
}

impl PolicyLevel {
    fn rule(self) -> Rule {
        match self {
            PolicyLevel::Default => Rule {
                min_chars: 8,
                upper: true,
                lower: true,
                digit: true,
                special_set: Some(SPECIAL_CHARACTERS),
                special_any: false,
                not_identifier: false,
            },
            PolicyLevel::Low => Rule {
                min_chars: 5,
                upper: false,
                lower: false,
                digit: false,
                special_set: None,
                special_any: false,
                not_identifier: true,
            },
            PolicyLevel::Medium | PolicyLevel::High => Rule {
                min_chars: 6,
                upper: true,
                lower: true,
                digit: true,
                special_set: None,
                special_any: true,
                not_identifier: true,
            },
        }
    }

    /// Every violation of this policy by `password`, in a stable order; empty when it passes.
    pub fn check(self, password: &str, ctx: PolicyContext<'_>) -> Vec<Violation> {
        let rule = self.rule();
        let mut out = Vec::new();
        if password.chars().count() < rule.min_chars {
            out.push(Violation::new(
                "password_too_short",
                format!("must be at least {} characters long", rule.min_chars),
            ));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            out.push(Violation::new(
                "password_too_long",
                format!("must be at most {MAX_PASSWORD_BYTES} bytes long"),
            ));
        }
        if rule.upper && !password.chars().any(char::is_uppercase) {
            out.push(Violation::new(
                "password_missing_uppercase",
                "must include an upper-case letter",
            ));
        }
        if rule.lower && !password.chars().any(char::is_lowercase) {
            out.push(Violation::new(
                "password_missing_lowercase",
                "must include a lower-case letter",
            ));
        }
        if rule.digit && !password.chars().any(|c| c.is_ascii_digit()) {
            out.push(Violation::new(
                "password_missing_digit",
                "must include a digit",
            ));
        }
        let has_special = match (rule.special_set, rule.special_any) {
            (Some(set), _) => Some(password.chars().any(|c| set.contains(c))),
            (None, true) => Some(password.chars().any(|c| !c.is_alphanumeric())),
            (None, false) => None,
        };
        if has_special == Some(false) {
            let message = match rule.special_set {
                Some(set) => format!("must include a special character from {set}"),
                None => "must include a character that is not a letter or a digit".to_owned(),
            };
            out.push(Violation::new("password_missing_special", message));
        }
        if rule.not_identifier {
            let same =
                |id: Option<&str>| id.is_some_and(|id| id.trim().eq_ignore_ascii_case(password));
            if same(ctx.email) || same(ctx.username) {
                out.push(Violation::new(
                    "password_equals_identifier",
                    "must not be the e-mail or username",
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(level: PolicyLevel, pw: &str) -> Vec<&'static str> {
        level
            .check(
                pw,
                PolicyContext {
                    email: Some("bob@example.com"),
                    username: None,
                },
            )
            .iter()
            .map(|v| v.code)
            .collect()
    }

    #[test]
    fn default_rule_accepts_the_seed_example() {
        assert!(codes(PolicyLevel::Default, "Str0ng!Passw0rd").is_empty());
    }

    #[test]
    fn default_rule_reports_every_violation() {
        assert_eq!(
            codes(PolicyLevel::Default, "abc"),
            vec![
                "password_too_short",
                "password_missing_uppercase",
                "password_missing_digit",
                "password_missing_special"
            ]
        );
        assert_eq!(
            codes(PolicyLevel::Default, ""),
            vec![
                "password_too_short",
                "password_missing_uppercase",
                "password_missing_lowercase",
                "password_missing_digit",
                "password_missing_special"
            ]
        );
    }

    #[test]
    fn every_seed_special_character_counts() {
        for c in SPECIAL_CHARACTERS.chars() {
            let pw = format!("Abcdefg1{c}");
            assert!(codes(PolicyLevel::Default, &pw).is_empty(), "{c}");
        }
        // A space is not in the seed's set.
        assert_eq!(
            codes(PolicyLevel::Default, "Abcdefg1 "),
            vec!["password_missing_special"]
        );
    }

    #[test]
    fn low_and_medium_levels() {
        assert!(codes(PolicyLevel::Low, "abcde").is_empty());
        assert_eq!(codes(PolicyLevel::Low, "abcd"), vec!["password_too_short"]);
        assert_eq!(
            codes(PolicyLevel::Low, "BOB@example.com"),
            vec!["password_equals_identifier"]
        );
        assert!(codes(PolicyLevel::Medium, "Ab1'cd").is_empty());
        assert_eq!(
            codes(PolicyLevel::Medium, "Ab1cde"),
            vec!["password_missing_special"]
        );
    }

    #[test]
    fn length_is_counted_in_characters_and_capped_in_bytes() {
        assert_eq!(codes(PolicyLevel::Low, "ééééé"), Vec::<&str>::new());
        let long = "Aa1!".repeat(300);
        assert_eq!(
            codes(PolicyLevel::Default, &long),
            vec!["password_too_long"]
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const NO_IDS: PolicyContext<'static> = PolicyContext {
        email: None,
        username: None,
    };

    fn codes(level: PolicyLevel, password: &str) -> Vec<&'static str> {
        level
            .check(password, NO_IDS)
            .into_iter()
            .map(|v| v.code)
            .collect()
    }

    proptest! {
        /// A password with a character of every class and enough length passes the default rule.
        #[test]
        fn complete_passwords_pass(
            upper in "[A-Z]{1,4}", lower in "[a-z]{1,4}", digit in "[0-9]{1,4}",
            special in proptest::sample::select(SPECIAL_CHARACTERS.chars().collect::<Vec<_>>()),
            filler in "[a-zA-Z0-9]{4,20}",
        ) {
            let password = format!("{upper}{lower}{digit}{special}{filler}");
            prop_assert!(codes(PolicyLevel::Default, &password).is_empty(), "{password}");
        }

        /// Each missing class is reported, whatever else the password holds.
        #[test]
        fn every_missing_class_is_reported(password in "\\PC{0,40}") {
            let found = codes(PolicyLevel::Default, &password);
            prop_assert_eq!(found.contains(&"password_missing_digit"), !password.chars().any(|c| c.is_ascii_digit()));
            prop_assert_eq!(found.contains(&"password_too_short"), password.chars().count() < 8);
            let has_special = password.chars().any(|c| SPECIAL_CHARACTERS.contains(c));
            prop_assert_eq!(found.contains(&"password_missing_special"), !has_special);
        }

        /// Codes are never repeated, and the check never panics, at every level.
        #[test]
        fn codes_are_unique(password in "\\PC{0,80}", level in proptest::sample::select(vec![
            PolicyLevel::Default, PolicyLevel::Low, PolicyLevel::Medium, PolicyLevel::High,
        ])) {
            let mut found = codes(level, &password);
            let n = found.len();
            found.sort();
            found.dedup();
            prop_assert_eq!(found.len(), n);
        }

        /// Adding characters never makes a password shorter than the minimum again.
        #[test]
        fn longer_is_never_too_short(password in "\\PC{8,40}", extra in "\\PC{0,10}") {
            let longer = format!("{password}{extra}");
            prop_assert!(!codes(PolicyLevel::Default, &longer).contains(&"password_too_short"));
        }
    }
}
