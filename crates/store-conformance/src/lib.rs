//! The store conformance suite: every `Store` implementation runs these same checks.
//!
//! An implementation's test file calls [`conformance_tests!`] with an async expression that
//! yields a fresh, empty store wrapped in a [`Fresh`]; each check then becomes its own
//! `#[tokio::test]`, and the `Fresh` is cleaned up after the check, even when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step should panic

pub mod checks;
mod fixtures;

use portcullis_core::Store;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

type Cleanup = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A fresh store for one check, and what removes it afterwards (a schema, a directory).
pub struct Fresh {
    pub store: Arc<dyn Store>,
    pub cleanup: Option<Cleanup>,
}

impl Fresh {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cleanup: None,
        }
    }

    pub fn with_cleanup(
        store: Arc<dyn Store>,
        cleanup: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        Self {
            store,
            cleanup: Some(Box::pin(cleanup)),
        }
    }

    /// Runs one check, then the cleanup, then reports the check's panic if any.
    pub async fn run<F, Fut>(self, check: F)
    where
        F: FnOnce(Arc<dyn Store>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let outcome = tokio::spawn(check(self.store)).await;
        if let Some(cleanup) = self.cleanup {
            cleanup.await;
        }
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

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
            rotation_batches_apply_in_order,
            rotation_batches_of_any_size_write_each_row_once,
            revocation_feeds_changes,
            signing_keys_retire_previous,
            audit_trail,
            audit_pages_by_event,
            apps_by_key_hash,
            snapshot_counts_and_restore_guard,
            password_resets_supersede_and_spend_once,
            outbox_claims_are_exclusive_and_retried,
            opaque_tokens_record_their_last_use,
            baskets_check_out_once,
            user_numbers_are_stable_and_distinct,
            pending_reset_requests_are_marked_once,
            counters_count_atomically,
            counters_stop_at_the_first_limit_passed,
            login_attempts_count_and_read_the_account,
            sessions_open_with_their_login_writes,
            devices_upsert_by_code_and_unbind_on_revoke,
            fixed_opaque_tokens_join_a_session,
            password_change_dates,
            ended_sessions_are_purged_with_their_tokens,
            expired_refresh_tokens_are_purged,
            snapshots_keep_what_outlives_a_session,
            restores_keep_numbers_tokens_and_purchases,
            reads_in_parts_cover_the_store_once,
            a_failed_restore_leaves_the_target_empty,
            refresh_tokens_read_together_as_alone,
            abandoned_writes_leave_the_store_writable,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(fresh) = $make.await {
                    let fresh: $crate::Fresh = fresh;
                    fresh.run($crate::checks::$name).await;
                }
            }
        )*
    };
}
