//! The store conformance suite: every `Store` implementation runs these same checks.
//!
//! An implementation's test file calls [`conformance_tests!`] with an async expression that
//! yields a fresh, empty store; each check then becomes its own `#[tokio::test]`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step should panic

pub mod checks;
mod fixtures;

/// Expands to one `#[tokio::test]` per check, each on a fresh store from `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            provisioning_round_trip,
            provisioning_is_all_or_nothing,
            users_unique_per_tenant_and_kind,
            find_user_prefers_email,
            password_hash_compare_and_set,
            user_status_and_missing_users,
            sessions_and_refresh_rotation,
            concurrent_rotation_has_one_winner,
            revocation_feeds_changes,
            signing_keys_retire_previous,
            audit_trail,
            apps_by_key_hash,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = $make.await;
                $crate::checks::$name(store).await;
            }
        )*
    };
}
