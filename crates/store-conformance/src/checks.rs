//! The checks. Each takes a fresh, empty store.

use crate::fixtures::{T0, opaque, purchase, refresh, rotation, world};
use portcullis_core::audit::{AuditEvent, AuditFilter};
use portcullis_core::ids::{AuditId, MessageId};
use portcullis_core::keys;
use portcullis_core::outbox::{OutboxFilter, OutboxMessage, OutboxOutcome, OutboxStatus};
use portcullis_core::reset::ResetRecord;
use portcullis_core::secret::{MasterKey, SecretHash};
use portcullis_core::session::{
    ChangeKind, NewSession, RefreshLookup, RefreshRecord, RotateOutcome, Rotation, SessionFilter,
};
use portcullis_core::store::LoginAttempt;
use portcullis_core::tenant::SigningAlg;
use portcullis_core::user::{UserKind, UserStatus};
use portcullis_core::{Store, StoreError, Timestamp};
use std::sync::Arc;
use std::time::Duration;

type S = Arc<dyn Store>;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub async fn provisioning_round_trip(store: S) {
    let w = world("acme");
    let mut plan = w.plan();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    plan.users.push(alice.clone());
    plan.user_profiles
        .push((alice.id, vec![w.profiles[0].id, w.profiles[1].id]));
    store.apply_provisioning(&plan).await.unwrap();
    // Applying the same plan again is harmless.
    store.apply_provisioning(&plan).await.unwrap();

    assert_eq!(store.list_tenants().await.unwrap(), vec![w.tenant.clone()]);
    assert_eq!(
        store.list_storefronts().await.unwrap(),
        vec![w.store.clone()]
    );
    assert_eq!(store.list_apps().await.unwrap(), vec![w.app.clone()]);
    let mut profiles = store.list_profiles(w.tenant.id).await.unwrap();
    profiles.sort_by(|a, b| a.name.cmp(&b.name));
    let mut expected = w.profiles.clone();
    expected.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(profiles, expected);
    assert_eq!(store.get_user(alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(
        store.user_profile_names(alice.id).await.unwrap(),
        vec!["admins".to_owned(), "buyers".to_owned()]
    );
    assert_eq!(
        store
            .find_user_with_profiles(w.tenant.id, UserKind::Customer, "ALICE@example.com")
            .await
            .unwrap(),
        Some((
            alice.clone(),
            vec!["admins".to_owned(), "buyers".to_owned()]
        )),
        "a login reads the user and their profiles together"
    );

    // Replacing assignments replaces, not adds.
    let mut plan2 = w.plan();
    plan2.user_profiles.push((alice.id, vec![w.profiles[0].id]));
    store.apply_provisioning(&plan2).await.unwrap();
    assert_eq!(
        store.user_profile_ids(alice.id).await.unwrap(),
        vec![w.profiles[0].id]
    );

    // Updates by id.
    let mut renamed = w.tenant.clone();
    renamed.name = "Acme Corp".into();
    renamed.enabled = false;
    let plan3 = portcullis_core::provisioning::ProvisionPlan {
        tenants: vec![renamed.clone()],
        ..Default::default()
    };
    store.apply_provisioning(&plan3).await.unwrap();
    assert_eq!(store.list_tenants().await.unwrap(), vec![renamed]);

    assert_eq!(
        store.find_app_by_client_id("acme-web").await.unwrap(),
        Some(w.app.clone())
    );
    assert_eq!(store.find_app_by_client_id("nope").await.unwrap(), None);
    let changes = store.changes_after(0, Timestamp(0), 100).await.unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c.what == ChangeKind::DirectoryChanged)
    );
    store.ping().await.unwrap();
}

pub async fn provisioning_is_all_or_nothing(store: S) {
    let w = world("acme");
    let mut plan = w.plan();
    let mut clash = w.app.clone();
    clash.id = portcullis_core::ids::AppId::new();
    clash.key_hash = SecretHash::of("another-key-0123456789abcdef");
    plan.apps.push(clash); // same client_id as the first app
    let err = store.apply_provisioning(&plan).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(store.list_tenants().await.unwrap().is_empty());
    assert!(store.list_apps().await.unwrap().is_empty());
    assert!(
        store
            .changes_after(0, Timestamp(0), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn users_unique_per_tenant_and_kind(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("Alice@Example.com"), Some("alice"));
    store
        .insert_user(&alice, &[w.profiles[0].id])
        .await
        .unwrap();

    let same_email = w.user(UserKind::Customer, Some("alice@EXAMPLE.com"), None);
    assert!(matches!(
        store.insert_user(&same_email, &[]).await,
        Err(StoreError::Conflict(_))
    ));
    let same_username = w.user(UserKind::Customer, None, Some("ALICE"));
    assert!(matches!(
        store.insert_user(&same_username, &[]).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.insert_user(&alice, &[]).await,
        Err(StoreError::Conflict(_))
    ));
    // A failed insert leaves nothing behind.
    assert_eq!(store.get_user(same_email.id).await.unwrap(), None);

    // The same address may be an operator too: kinds are separate namespaces.
    let operator = w.user(UserKind::Operator, Some("alice@example.com"), None);
    store.insert_user(&operator, &[]).await.unwrap();

    let customers = store
        .list_users(w.tenant.id, Some(UserKind::Customer))
        .await
        .unwrap();
    assert_eq!(customers, vec![alice.clone()]);
    assert_eq!(store.list_users(w.tenant.id, None).await.unwrap().len(), 2);
    assert_eq!(
        store.user_profile_names(alice.id).await.unwrap(),
        vec!["buyers".to_owned()]
    );
    // A profile that does not exist is refused and the user is not written.
    let ghost = w.user(UserKind::Supplier, Some("ghost@example.com"), None);
    let missing = portcullis_core::ids::ProfileId::new();
    assert!(store.insert_user(&ghost, &[missing]).await.is_err());
    assert_eq!(store.get_user(ghost.id).await.unwrap(), None);
}

pub async fn find_user_prefers_email(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    // Bob's username is Carol's e-mail: the e-mail owner wins.
    let bob = w.user(
        UserKind::Customer,
        Some("bob@example.com"),
        Some("carol@example.com"),
    );
    let carol = w.user(UserKind::Customer, Some("carol@example.com"), None);
    store.insert_user(&bob, &[]).await.unwrap();
    store.insert_user(&carol, &[]).await.unwrap();
    let found = store
        .find_user(w.tenant.id, UserKind::Customer, " CAROL@example.com")
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(carol.id));
    let found = store
        .find_user(w.tenant.id, UserKind::Customer, "Bob@Example.com")
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(bob.id));
    assert_eq!(
        store
            .find_user_with_profiles(w.tenant.id, UserKind::Customer, "carol@example.com")
            .await
            .unwrap(),
        Some((carol.clone(), Vec::new())),
        "no profiles, the same user"
    );
    assert_eq!(
        store
            .find_user_with_profiles(w.tenant.id, UserKind::Operator, "carol@example.com")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_user(w.tenant.id, UserKind::Operator, "bob@example.com")
            .await
            .unwrap(),
        None
    );
    let other = world("other");
    assert_eq!(
        store
            .find_user(other.tenant.id, UserKind::Customer, "bob@example.com")
            .await
            .unwrap(),
        None
    );
}

pub async fn password_hash_compare_and_set(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let mut alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    alice.password_origin = Some("digest-of-imported-hash".into());
    store.insert_user(&alice, &[]).await.unwrap();
    let old = alice.password_hash.clone().unwrap();
    let t1 = T0.plus(secs(1));
    assert!(
        store
            .set_password_hash(alice.id, "$new1", Some(&old), t1)
            .await
            .unwrap()
    );
    let rehashed = store.get_user(alice.id).await.unwrap().unwrap();
    assert_eq!(
        rehashed.password_origin, alice.password_origin,
        "a rehash keeps the origin"
    );
    // The expected hash is gone now: a stale rehash must not overwrite.
    assert!(
        !store
            .set_password_hash(alice.id, "$stale", Some(&old), t1)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_password_hash(alice.id, "$new2", None, t1)
            .await
            .unwrap()
    );
    let stored = store.get_user(alice.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_deref(), Some("$new2"));
    assert_eq!(
        stored.password_origin, None,
        "a new password clears the origin"
    );
    assert_eq!(stored.updated_at, t1);
    let nobody = portcullis_core::ids::UserId::new();
    assert!(matches!(
        store.set_password_hash(nobody, "$x", None, t1).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn user_status_and_missing_users(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    store
        .set_user_status(alice.id, UserStatus::Disabled, T0)
        .await
        .unwrap();
    assert_eq!(
        store.get_user(alice.id).await.unwrap().unwrap().status,
        UserStatus::Disabled
    );
    let nobody = portcullis_core::ids::UserId::new();
    assert!(matches!(
        store.set_user_status(nobody, UserStatus::Active, T0).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.get_user(nobody).await.unwrap(), None);
}

pub async fn sessions_and_refresh_rotation(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    let session = w.session(&alice, T0);
    let first = refresh(session.id, "first-refresh-token", T0);
    store
        .create_session(&NewSession::new(&session, Some(&first)))
        .await
        .unwrap();
    assert_eq!(
        store.get_session(session.id).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        store.find_refresh(&first.hash).await.unwrap(),
        Some(RefreshLookup {
            record: first.clone(),
            session: session.clone(),
            user: Some(alice.clone()),
        }),
        "a refresh token is read with its session and user"
    );
    // A service session (client credentials) has no user.
    let mut service = w.session(&alice, T0);
    (service.user_id, service.kind) = (None, None);
    let service_token = refresh(service.id, "service-refresh-token", T0);
    store
        .create_session(&NewSession::new(&service, Some(&service_token)))
        .await
        .unwrap();
    let found = store
        .find_refresh(&service_token.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.session, found.user), (service, None));
    // A second session with the same id is a conflict.
    assert!(matches!(
        store.create_session(&NewSession::new(&session, None)).await,
        Err(StoreError::Conflict(_))
    ));

    let t1 = T0.plus(secs(60));
    let second = refresh(session.id, "second-refresh-token", t1);
    let outcome = rotate(&store, rotation(&first, "sealed-pair", second.clone())).await;
    assert_eq!(outcome, RotateOutcome::Rotated);
    let third = refresh(session.id, "third-refresh-token", t1);
    match rotate(&store, rotation(&first, "other", third.clone())).await {
        RotateOutcome::AlreadyRotated(rec) => {
            assert_eq!(rec.rotated_at, Some(t1));
            assert_eq!(rec.successor.as_deref(), Some(&b"sealed-pair"[..]));
        }
        other => panic!("expected AlreadyRotated, got {other:?}"),
    }
    assert_eq!(store.find_refresh(&third.hash).await.unwrap(), None);
    let never = refresh(session.id, "never-issued", T0);
    assert_eq!(
        rotate(&store, rotation(&never, "x", third)).await,
        RotateOutcome::NotFound
    );
    let RefreshLookup {
        record: stored,
        session: touched,
        ..
    } = store.find_refresh(&second.hash).await.unwrap().unwrap();
    assert_eq!(stored, second);
    assert_eq!(
        (touched.last_used_at, touched.idle_expires_at),
        (t1, second.expires_at)
    );
    assert_eq!(store.get_session(session.id).await.unwrap(), Some(touched));

    let live = SessionFilter {
        user_id: Some(alice.id),
        live_at: Some(t1),
        ..Default::default()
    };
    assert_eq!(store.list_sessions(&live).await.unwrap().len(), 1);
    let later = SessionFilter {
        user_id: Some(alice.id),
        live_at: Some(t1.plus(secs(90_000))),
        ..Default::default()
    };
    assert!(store.list_sessions(&later).await.unwrap().is_empty());
    let by_tenant = SessionFilter {
        tenant_id: Some(w.tenant.id),
        ..Default::default()
    };
    // Alice's session and the service session.
    assert_eq!(store.list_sessions(&by_tenant).await.unwrap().len(), 2);
}

pub async fn concurrent_rotation_has_one_winner(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    let session = w.session(&alice, T0);
    let first = refresh(session.id, "contested-token", T0);
    store
        .create_session(&NewSession::new(&session, Some(&first)))
        .await
        .unwrap();

    let t1 = T0.plus(secs(1));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let r = rotation(
            &first,
            &format!("pair-{i}"),
            refresh(session.id, &format!("successor-{i}"), t1),
        );
        tasks.push(tokio::spawn(async move { rotate(&store, r).await }));
    }
    let mut winners = 0;
    for t in tasks {
        match t.await.unwrap() {
            RotateOutcome::Rotated => winners += 1,
            RotateOutcome::AlreadyRotated(rec) => assert!(rec.rotated_at.is_some()),
            RotateOutcome::NotFound => panic!("token vanished"),
        }
    }
    assert_eq!(winners, 1);
}

async fn rotate(store: &S, r: Rotation) -> RotateOutcome {
    let mut outcomes = store.rotate_refresh(&[r]).await.unwrap();
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0)
}

/// The `refresh.*` audit events, by detail.
async fn refresh_events(store: &S) -> Vec<AuditEvent> {
    let filter = AuditFilter {
        action: Some("refresh".into()),
        ..Default::default()
    };
    let mut events = store.list_audit(&filter).await.unwrap();
    events.sort_by(|a, b| a.detail.cmp(&b.detail));
    events
}

/// Rotations written together behave as if written one after another.
pub async fn rotation_batches_apply_in_order(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    let mut firsts = Vec::new();
    let mut sessions = Vec::new();
    for i in 0..3 {
        let session = w.session(&alice, T0);
        let first = refresh(session.id, &format!("first-{i}"), T0);
        store
            .create_session(&NewSession::new(&session, Some(&first)))
            .await
            .unwrap();
        sessions.push(session);
        firsts.push(first);
    }
    // Session 2's token was rotated before this batch.
    let t1 = T0.plus(secs(30));
    let earlier = refresh(sessions[2].id, "earlier", t1);
    rotate(&store, rotation(&firsts[2], "earlier-pair", earlier)).await;

    let t2 = T0.plus(secs(60));
    let next = |i: usize, name: &str| refresh(sessions[i].id, name, t2);
    let audited = |r: RefreshRecord, sealed: &str, session: usize| {
        let mut r = rotation(&firsts[session], sealed, r);
        let id = sessions[session].id;
        r.audit = Some(w.session_event(&alice, id, t2, "refresh.succeeded", sealed));
        r
    };
    let never = refresh(sessions[0].id, "never-issued", T0);
    let batch = vec![
        audited(next(0, "a"), "pair-a", 0),
        audited(next(1, "b"), "pair-b", 1),
        // The same token again: loses to the first rotation of the batch.
        audited(next(0, "a-again"), "pair-a-again", 0),
        audited(next(2, "c"), "pair-c", 2),
        rotation(&never, "pair-never", next(0, "d")),
    ];
    let outcomes = store.rotate_refresh(&batch).await.unwrap();
    assert_eq!(outcomes.len(), batch.len());
    assert_eq!(outcomes[0], RotateOutcome::Rotated);
    assert_eq!(outcomes[1], RotateOutcome::Rotated);
    match &outcomes[2] {
        RotateOutcome::AlreadyRotated(rec) => {
            assert_eq!(rec.successor.as_deref(), Some(&b"pair-a"[..]));
            assert_eq!(rec.rotated_at, Some(t2));
        }
        other => panic!("expected the batch's first rotation to win, got {other:?}"),
    }
    match &outcomes[3] {
        RotateOutcome::AlreadyRotated(rec) => {
            assert_eq!(rec.successor.as_deref(), Some(&b"earlier-pair"[..]));
            assert_eq!(rec.rotated_at, Some(t1));
        }
        other => panic!("expected the earlier rotation to stand, got {other:?}"),
    }
    assert_eq!(outcomes[4], RotateOutcome::NotFound);

    // Only the winners' tokens exist, each touching its own session.
    for (name, session) in [("a", 0), ("b", 1)] {
        let RefreshLookup {
            record: stored,
            session: touched,
            ..
        } = store
            .find_refresh(&SecretHash::of(name))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored, next(session, name));
        assert_eq!(touched.id, sessions[session].id);
        assert_eq!(touched.last_used_at, t2);
    }
    for name in ["a-again", "c", "d"] {
        assert_eq!(
            store.find_refresh(&SecretHash::of(name)).await.unwrap(),
            None
        );
    }
    let untouched = store
        .find_refresh(&SecretHash::of("earlier"))
        .await
        .unwrap()
        .unwrap()
        .session;
    assert_eq!(
        untouched.last_used_at, t1,
        "a lost rotation touches nothing"
    );
    // Only the winners' audit events are written.
    let audit = refresh_events(&store).await;
    let details: Vec<_> = audit.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(details, ["pair-a", "pair-b"]);
    assert!(audit.iter().all(|e| e.ip.as_deref() == Some("192.0.2.7")));
    assert!(store.rotate_refresh(&[]).await.unwrap().is_empty());
}

/// Batches of every size write their rows and only theirs: each winner's new token, its pair
/// (what a retry of the old token gets), its session's touch and its audit event.
pub async fn rotation_batches_of_any_size_write_each_row_once(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    let t = T0.plus(secs(60));
    let mut written = Vec::new();
    for size in 1..=5 {
        let mut firsts = Vec::new();
        let mut batch = Vec::new();
        for i in 0..size {
            let session = w.session(&alice, T0);
            let first = refresh(session.id, &format!("first-{size}-{i}"), T0);
            store
                .create_session(&NewSession::new(&session, Some(&first)))
                .await
                .unwrap();
            let name = format!("{size}-{i}");
            let next = refresh(session.id, &name, t);
            let mut r = rotation(&first, &format!("pair-{name}"), next);
            r.audit = Some(w.session_event(&alice, session.id, t, "refresh.succeeded", &name));
            batch.push(r);
            firsts.push(first);
            written.push(name);
        }
        let outcomes = store.rotate_refresh(&batch).await.unwrap();
        assert!(
            outcomes.iter().all(|o| *o == RotateOutcome::Rotated),
            "a batch of {size}: {outcomes:?}"
        );
        for (first, r) in firsts.iter().zip(&batch) {
            let old = store.find_refresh(&first.hash).await.unwrap().unwrap();
            assert_eq!(old.record.successor.as_ref(), Some(&r.successor));
            assert_eq!(old.record.rotated_at, Some(t));
            let new = store.find_refresh(&r.next.hash).await.unwrap().unwrap();
            assert_eq!(new.record, r.next);
            assert_eq!(new.session.last_used_at, t);
        }
    }
    let details: Vec<_> = refresh_events(&store)
        .await
        .into_iter()
        .map(|e| e.detail)
        .collect();
    written.sort();
    assert_eq!(details, written);
}

pub async fn revocation_feeds_changes(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    let s1 = w.session(&alice, T0);
    let s2 = w.session(&alice, T0);
    store
        .create_session(&NewSession::new(&s1, None))
        .await
        .unwrap();
    store
        .create_session(&NewSession::new(&s2, None))
        .await
        .unwrap();
    let start = store
        .changes_after(0, Timestamp(0), 100)
        .await
        .unwrap()
        .last()
        .map_or(0, |c| c.seq);

    let t1 = T0.plus(secs(5));
    assert!(store.revoke_session(s1.id, t1, "logout").await.unwrap());
    assert!(!store.revoke_session(s1.id, t1, "logout").await.unwrap());
    let revoked = store.get_session(s1.id).await.unwrap().unwrap();
    assert_eq!(
        (revoked.revoked_at, revoked.revoked_reason.as_deref()),
        (Some(t1), Some("logout"))
    );

    let t2 = T0.plus(secs(10));
    let all = store
        .revoke_user_sessions(alice.id, t2, "password changed")
        .await
        .unwrap();
    assert_eq!(all, vec![s2.id]);
    assert!(
        store
            .revoke_user_sessions(alice.id, t2, "again")
            .await
            .unwrap()
            .is_empty()
    );

    let changes = store.changes_after(start, Timestamp(0), 100).await.unwrap();
    let kinds: Vec<_> = changes.iter().map(|c| c.what.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            ChangeKind::SessionRevoked(s1.id),
            ChangeKind::SessionRevoked(s2.id)
        ]
    );
    assert!(changes[0].seq < changes[1].seq);
    assert_eq!(
        store
            .changes_after(changes[0].seq, Timestamp(0), 100)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.changes_after(start, t2, 100).await.unwrap().len(), 1);
    assert_eq!(
        store
            .changes_after(start, Timestamp(0), 1)
            .await
            .unwrap()
            .len(),
        1
    );

    assert!(store.prune_changes(t2).await.unwrap() >= 1);
    let left = store.changes_after(0, Timestamp(0), 100).await.unwrap();
    assert!(left.iter().all(|c| c.at >= t2), "{left:?}");
}

pub async fn signing_keys_retire_previous(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let master = MasterKey::from_text("conformance-master-key-0123456789abcdef").unwrap();
    let k1 = keys::generate(w.tenant.id, SigningAlg::EdDSA, &master, T0).unwrap();
    store.add_signing_key(&k1, T0).await.unwrap();
    let t1 = T0.plus(secs(60));
    let k2 = keys::generate(w.tenant.id, SigningAlg::ES256, &master, t1).unwrap();
    let retire = t1.plus(secs(3600));
    store.add_signing_key(&k2, retire).await.unwrap();
    let stored = store.list_signing_keys().await.unwrap();
    assert_eq!(stored.len(), 2);
    let old = stored.iter().find(|k| k.kid == k1.kid).unwrap();
    let new = stored.iter().find(|k| k.kid == k2.kid).unwrap();
    assert_eq!(old.not_after, Some(retire));
    assert_eq!(new, &k2);
    assert!(matches!(
        store.add_signing_key(&k2, retire).await,
        Err(StoreError::Conflict(_))
    ));
    let changes = store.changes_after(0, Timestamp(0), 100).await.unwrap();
    assert_eq!(
        changes
            .iter()
            .filter(|c| c.what == ChangeKind::KeysChanged)
            .count(),
        2
    );
}

/// Events of one instant page by the last event's id, none skipped or repeated.
pub async fn audit_pages_by_event(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let mut events = Vec::new();
    for i in 0..5u64 {
        let e = AuditEvent {
            id: AuditId::new(),
            // Three at one instant, between an older and a newer one.
            at: T0.plus(secs(match i {
                0 => 0,
                4 => 2,
                _ => 1,
            })),
            tenant_id: Some(w.tenant.id),
            user_id: None,
            app_id: None,
            session_id: None,
            action: "login.limited".into(),
            detail: format!("event {i}"),
            ip: None,
        };
        store.append_audit(&e).await.unwrap();
        events.push(e);
    }
    let page = |before: Option<AuditId>, limit: u32| AuditFilter {
        tenant_id: Some(w.tenant.id),
        before,
        limit,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let got = store.list_audit(&page(before, 2)).await.unwrap();
        let Some(last) = got.last() else { break };
        before = Some(last.id);
        seen.extend(got);
    }
    let all = store.list_audit(&page(None, 0)).await.unwrap();
    assert_eq!(seen, all, "pages of two make up the whole trail, in order");
    assert_eq!(all.len(), 5);
    // An id of no event of the tenant: nothing, rather than the trail from the top.
    assert!(
        store
            .list_audit(&page(Some(AuditId::new()), 0))
            .await
            .unwrap()
            .is_empty()
    );
    let other = world("other");
    store.apply_provisioning(&other.plan()).await.unwrap();
    let foreign = store
        .list_audit(&AuditFilter {
            tenant_id: Some(other.tenant.id),
            before: Some(all[0].id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(foreign.is_empty(), "another tenant's event is no cursor");
}

pub async fn audit_trail(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    let mut events = Vec::new();
    for (i, action) in ["login.failed", "login.succeeded", "refresh.reused"]
        .iter()
        .enumerate()
    {
        let e = AuditEvent {
            id: AuditId::new(),
            at: T0.plus(secs(i as u64)),
            tenant_id: Some(w.tenant.id),
            user_id: (i > 0).then_some(alice.id),
            app_id: Some(w.app.id),
            session_id: None,
            action: (*action).to_owned(),
            detail: "because".into(),
            ip: Some("10.0.0.1".into()),
        };
        store.append_audit(&e).await.unwrap();
        events.push(e);
    }
    let all = store
        .list_audit(&AuditFilter {
            tenant_id: Some(w.tenant.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], events[2], "newest first");
    let alices = store
        .list_audit(&AuditFilter {
            user_id: Some(alice.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(alices.len(), 2);
    let recent = store
        .list_audit(&AuditFilter {
            since: Some(T0.plus(secs(2))),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(recent, vec![events[2].clone()]);
    let one = store
        .list_audit(&AuditFilter {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    let family = |action: &str| AuditFilter {
        action: Some(action.to_owned()),
        ..Default::default()
    };
    let logins = store.list_audit(&family("login")).await.unwrap();
    assert_eq!(logins, vec![events[1].clone(), events[0].clone()]);
    let failed = store.list_audit(&family("login.failed")).await.unwrap();
    assert_eq!(failed, vec![events[0].clone()]);
    assert!(
        store.list_audit(&family("log")).await.unwrap().is_empty(),
        "whole names only"
    );
    assert!(
        store
            .list_audit(&family("login.%"))
            .await
            .unwrap()
            .is_empty(),
        "no wildcards"
    );
    let before = store
        .list_audit(&AuditFilter {
            until: Some(T0.plus(secs(1))),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(before, vec![events[0].clone()]);
    let customers = store
        .list_audit(&AuditFilter {
            user_kind: Some(alice.kind),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(customers.len(), 2, "alice's events, not the anonymous one");
    let other_kind = UserKind::ALL
        .into_iter()
        .find(|k| *k != alice.kind)
        .unwrap();
    let none = store
        .list_audit(&AuditFilter {
            user_kind: Some(other_kind),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    // Retention: events older than the cut go, the rest stay.
    assert_eq!(store.prune_audit(T0.plus(secs(1))).await.unwrap(), 1);
    let left = store
        .list_audit(&AuditFilter {
            tenant_id: Some(w.tenant.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(left, vec![events[2].clone(), events[1].clone()]);
    assert_eq!(store.prune_audit(T0).await.unwrap(), 0);
}

pub async fn apps_by_key_hash(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    assert_eq!(
        store.find_app_by_key_hash(&w.app.key_hash).await.unwrap(),
        Some(w.app.clone())
    );
    assert_eq!(
        store
            .find_app_by_key_hash(&SecretHash::of("unknown"))
            .await
            .unwrap(),
        None
    );
    let counts = store.counts().await.unwrap();
    let apps = counts.iter().find(|(t, _)| *t == "apps").unwrap();
    assert_eq!(apps.1, 1);
}

pub async fn snapshot_counts_and_restore_guard(store: S) {
    let w = world("acme");
    let mut plan = w.plan();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    plan.users.push(alice.clone());
    plan.user_profiles.push((alice.id, vec![w.profiles[0].id]));
    store.apply_provisioning(&plan).await.unwrap();
    let master = MasterKey::from_text("conformance-master-key-0123456789abcdef").unwrap();
    store
        .add_signing_key(
            &keys::generate(w.tenant.id, SigningAlg::EdDSA, &master, T0).unwrap(),
            T0,
        )
        .await
        .unwrap();
    let session = w.session(&alice, T0);
    let first = refresh(session.id, "first", T0);
    store
        .create_session(&NewSession::new(&session, Some(&first)))
        .await
        .unwrap();
    let t1 = T0.plus(secs(1));
    rotate(
        &store,
        rotation(&first, "pair", refresh(session.id, "second", t1)),
    )
    .await;
    let tokens = store.list_refresh_tokens(&[session.id]).await.unwrap();
    assert_eq!(tokens.len(), 2, "rotated tokens are listed too");

    let snap = portcullis_core::snapshot::Snapshot::take(store.as_ref(), t1)
        .await
        .unwrap();
    let counts = store.counts().await.unwrap();
    for (table, n) in snap.counts() {
        let stored = counts.iter().find(|(t, _)| *t == table).unwrap().1;
        assert_eq!(stored, n, "{table}");
    }
    // A store that already holds tenants refuses a restore and is left as it was.
    let err = store.restore(&snap).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.counts().await.unwrap(), counts);
}

fn reset_for(
    w: &crate::fixtures::World,
    user: &portcullis_core::user::User,
    secret: &str,
    at: Timestamp,
) -> (ResetRecord, OutboxMessage) {
    let reset = ResetRecord {
        hash: SecretHash::of(secret),
        user_id: user.id,
        tenant_id: w.tenant.id,
        app_id: w.app.id,
        created_at: at,
        expires_at: at.plus(secs(86_400)),
        used_at: None,
        voided_at: None,
    };
    let message = OutboxMessage {
        id: MessageId::new(),
        tenant_id: w.tenant.id,
        to: user.email.clone().unwrap_or_default(),
        kind: "password_reset".into(),
        payload: Some(b"sealed".to_vec()),
        status: OutboxStatus::Pending,
        attempts: 0,
        next_attempt_at: at,
        lease_until: None,
        last_error: None,
        created_at: at,
        sent_at: None,
    };
    (reset, message)
}

pub async fn password_resets_supersede_and_spend_once(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let mut alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    alice.password_origin = Some("imported".into());
    store.insert_user(&alice, &[]).await.unwrap();
    let (first, m1) = reset_for(&w, &alice, "first-reset", T0);
    assert!(store.create_reset(&first, &m1, &[]).await.unwrap());
    assert_eq!(
        store.find_reset(&first.hash).await.unwrap(),
        Some(first.clone())
    );
    let t1 = T0.plus(secs(10));
    let (second, m2) = reset_for(&w, &alice, "second-reset", t1);
    assert!(store.create_reset(&second, &m2, &[]).await.unwrap());
    assert_eq!(
        store
            .find_reset(&first.hash)
            .await
            .unwrap()
            .unwrap()
            .voided_at,
        Some(t1),
        "a newer token voids the older"
    );
    assert!(
        !store
            .complete_reset(&first.hash, "$voided", t1)
            .await
            .unwrap(),
        "a voided token cannot be spent"
    );

    let t2 = T0.plus(secs(20));
    assert!(
        store
            .complete_reset(&second.hash, "$reset", t2)
            .await
            .unwrap()
    );
    let user = store.get_user(alice.id).await.unwrap().unwrap();
    assert_eq!(user.password_hash.as_deref(), Some("$reset"));
    assert_eq!(user.password_origin, None);
    assert_eq!(
        store
            .find_reset(&second.hash)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        Some(t2)
    );
    assert!(
        !store
            .complete_reset(&second.hash, "$again", t2)
            .await
            .unwrap(),
        "spent once only"
    );
    assert_eq!(
        store
            .get_user(alice.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .as_deref(),
        Some("$reset")
    );

    // A password change voids the tokens still out.
    let (third, m3) = reset_for(&w, &alice, "third-reset", t2);
    assert!(store.create_reset(&third, &m3, &[]).await.unwrap());
    store
        .set_password_hash(alice.id, "$changed", None, t2.plus(secs(1)))
        .await
        .unwrap();
    assert!(
        store
            .find_reset(&third.hash)
            .await
            .unwrap()
            .unwrap()
            .voided_at
            .is_some()
    );
    assert_eq!(
        store.find_reset(&SecretHash::of("never")).await.unwrap(),
        None
    );
    // Limits count the address's messages since a time; concurrent requests cannot all pass.
    let limits = [(T0, 4u32)];
    let mut tasks = Vec::new();
    for i in 0..4 {
        let store = store.clone();
        let (r, m) = reset_for(&w, &alice, &format!("racing-{i}"), t2);
        tasks.push(tokio::spawn(async move {
            store.create_reset(&r, &m, &limits).await.unwrap()
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += usize::from(t.await.unwrap());
    }
    assert_eq!(accepted, 1, "three messages existed; the limit is four");
    let (refused, m5) = reset_for(&w, &alice, "over-the-limit", t2);
    assert!(!store.create_reset(&refused, &m5, &[(T0, 4)]).await.unwrap());
    assert_eq!(
        store.find_reset(&refused.hash).await.unwrap(),
        None,
        "nothing written when refused"
    );
    assert!(
        store
            .create_reset(&refused, &m5, &[(t2.plus(secs(1)), 4)])
            .await
            .unwrap(),
        "older messages no longer count"
    );
}

pub async fn outbox_claims_are_exclusive_and_retried(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..6 {
        let u = w.user(
            UserKind::Customer,
            Some(&format!("user{i}@example.com")),
            None,
        );
        store.insert_user(&u, &[]).await.unwrap();
        let (r, m) = reset_for(&w, &u, &format!("reset-{i}"), T0);
        ids.push(m.id);
        assert!(store.create_reset(&r, &m, &[]).await.unwrap());
    }
    assert_eq!(
        store.outbox_depth().await.unwrap(),
        vec![("pending", 6), ("dead", 0)]
    );
    // Four workers claim at once: each message goes to exactly one.
    let lease = T0.plus(secs(60));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.claim_outbox(T0, lease, 2).await.unwrap()
        }));
    }
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await.unwrap());
    }
    let mut got: Vec<_> = claimed.iter().map(|m| m.id).collect();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), claimed.len(), "no message claimed twice");
    assert!(
        claimed
            .iter()
            .all(|m| m.attempts == 1 && m.lease_until == Some(lease))
    );
    let rest = store.claim_outbox(T0, lease, 10).await.unwrap();
    assert_eq!(claimed.len() + rest.len(), 6);
    assert!(
        store.claim_outbox(T0, lease, 10).await.unwrap().is_empty(),
        "leased messages are not handed out"
    );

    let (a, b, c) = (ids[0], ids[1], ids[2]);
    store
        .finish_outbox(a, &OutboxOutcome::Sent { at: T0 })
        .await
        .unwrap();
    let retry_at = T0.plus(secs(30));
    store
        .finish_outbox(
            b,
            &OutboxOutcome::Retry {
                at: retry_at,
                error: "421 busy".into(),
            },
        )
        .await
        .unwrap();
    store
        .finish_outbox(
            c,
            &OutboxOutcome::Dead {
                error: "550 no such user".into(),
            },
        )
        .await
        .unwrap();
    let all = store.list_outbox(&OutboxFilter::default()).await.unwrap();
    let find = |id| all.iter().find(|m| m.id == id).unwrap().clone();
    assert_eq!(
        (find(a).status, find(a).payload.is_none(), find(a).sent_at),
        (OutboxStatus::Sent, true, Some(T0))
    );
    assert_eq!(
        (find(b).status, find(b).next_attempt_at, find(b).lease_until),
        (OutboxStatus::Pending, retry_at, None)
    );
    assert_eq!(
        (find(c).status, find(c).last_error.as_deref()),
        (OutboxStatus::Dead, Some("550 no such user"))
    );
    let dead = store
        .list_outbox(&OutboxFilter {
            status: Some(OutboxStatus::Dead),
            limit: 0,
        })
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        store.outbox_depth().await.unwrap(),
        vec![("pending", 4), ("dead", 1)],
        "sent messages are not counted"
    );
    let pools = store.pool_state();
    assert!(
        !pools.is_empty() && pools.iter().all(|p| p.idle <= p.open && p.open <= p.max),
        "{pools:?}"
    );

    // Not due before its retry time; due after (the other leases have expired by then too).
    let after = retry_at.plus(secs(61));
    assert!(
        store
            .claim_outbox(T0.plus(secs(1)), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due: Vec<_> = store
        .claim_outbox(after, after.plus(secs(60)), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert!(due.contains(&b) && !due.contains(&a) && !due.contains(&c));

    assert!(store.retry_outbox(c, after).await.unwrap());
    assert!(
        !store.retry_outbox(a, after).await.unwrap(),
        "a sent message is not sent again"
    );
    let revived = store
        .list_outbox(&OutboxFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == c)
        .unwrap();
    assert_eq!(
        (revived.status, revived.attempts),
        (OutboxStatus::Pending, 0)
    );
    assert!(matches!(
        store
            .finish_outbox(MessageId::new(), &OutboxOutcome::Sent { at: T0 })
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.purge_outbox(after).await.unwrap(),
        1,
        "only the sent one is sent or dead now"
    );
}

pub async fn opaque_tokens_record_their_last_use(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    let session = w.session(&alice, T0);
    let record = portcullis_core::opaque::OpaqueRecord {
        hash: SecretHash::of("opaque-token"),
        session_id: session.id,
        role: "member".into(),
        created_at: T0,
        last_used_at: T0,
        idle_ttl: secs(86_400),
        sliding: true,
    };
    store
        .create_opaque_session(&session, &record)
        .await
        .unwrap();
    assert_eq!(
        store.find_opaque(&record.hash).await.unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        store.get_session(session.id).await.unwrap(),
        Some(session.clone())
    );
    let t1 = T0.plus(secs(120));
    store.touch_opaque(&record.hash, t1).await.unwrap();
    store
        .touch_opaque(&record.hash, T0.plus(secs(60)))
        .await
        .unwrap();
    assert_eq!(
        store
            .find_opaque(&record.hash)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        t1,
        "never backwards"
    );
    // The same token again, or the same session again: refused, nothing half-written.
    let mut again = w.session(&alice, T0);
    again.id = portcullis_core::ids::SessionId::new();
    assert!(matches!(
        store.create_opaque_session(&again, &record).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_session(again.id).await.unwrap(), None);
    assert_eq!(
        store.find_opaque(&SecretHash::of("other")).await.unwrap(),
        None
    );
}

pub async fn baskets_check_out_once(store: S) {
    use portcullis_core::basket::{Basket, Purchase};
    use portcullis_core::ids::{BasketId, PurchaseId};
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let guest = portcullis_core::session::Session {
        user_id: None,
        kind: Some(UserKind::Guest),
        ..w.session(&w.user(UserKind::Guest, None, None), T0)
    };
    let token = portcullis_core::opaque::OpaqueRecord {
        hash: SecretHash::of("guest-token"),
        session_id: guest.id,
        role: "contact".into(),
        created_at: T0,
        last_used_at: T0,
        idle_ttl: secs(900),
        sliding: true,
    };
    let basket = Basket {
        id: BasketId::new(),
        tenant_id: w.tenant.id,
        company_id: 37000,
        session_id: guest.id,
        user_id: None,
        items: Vec::new(),
        created_at: T0,
        checked_out_at: None,
    };
    store
        .create_basket(&basket, Some((&guest, &token)))
        .await
        .unwrap();
    assert_eq!(
        store
            .find_opaque(&token.hash)
            .await
            .unwrap()
            .unwrap()
            .session_id,
        guest.id,
        "token stored with the basket"
    );
    assert_eq!(
        store.find_open_basket(guest.id).await.unwrap().unwrap().id,
        basket.id
    );
    let item = serde_json::json!({"service_id": 1});
    let after = store
        .add_basket_item(basket.id, &item, T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.items, vec![item.clone()]);
    assert_eq!(
        store
            .get_basket(basket.id)
            .await
            .unwrap()
            .unwrap()
            .items
            .len(),
        1
    );

    let purchase = Purchase {
        id: PurchaseId::new(),
        long_id_hash: SecretHash::of("long-id"),
        tenant_id: w.tenant.id,
        company_id: 37000,
        basket_id: basket.id,
        user_id: None,
        items: after.items.clone(),
        client: serde_json::json!({"name": "Guest"}),
        created_at: T0.plus(secs(5)),
    };
    assert!(store.checkout_basket(basket.id, &purchase).await.unwrap());
    let second = Purchase {
        id: PurchaseId::new(),
        long_id_hash: SecretHash::of("other-long-id"),
        ..purchase.clone()
    };
    assert!(
        !store.checkout_basket(basket.id, &second).await.unwrap(),
        "checked out once"
    );
    assert_eq!(
        store
            .find_purchase(&SecretHash::of("other-long-id"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.find_purchase(&purchase.long_id_hash).await.unwrap(),
        Some(purchase)
    );
    assert_eq!(
        store.add_basket_item(basket.id, &item, T0).await.unwrap(),
        None,
        "closed baskets take nothing"
    );
    assert_eq!(store.find_open_basket(guest.id).await.unwrap(), None);
    assert_eq!(store.get_basket(BasketId::new()).await.unwrap(), None);
}

pub async fn user_numbers_are_stable_and_distinct(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    let bob = w.user(UserKind::Customer, Some("bob@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    store.insert_user(&bob, &[]).await.unwrap();
    let a = store.user_number(alice.id).await.unwrap();
    let b = store.user_number(bob.id).await.unwrap();
    assert_ne!(a, b);
    assert_eq!(
        store.user_number(alice.id).await.unwrap(),
        a,
        "the same number ever after"
    );
    assert_eq!(store.user_by_number(a).await.unwrap(), Some(alice.id));
    assert_eq!(store.user_by_number(b.max(a) + 1000).await.unwrap(), None);
    let ghost = portcullis_core::ids::UserId::new();
    assert!(
        store.user_number(ghost).await.is_err(),
        "only users that exist get a number"
    );
}

pub async fn pending_reset_requests_are_marked_once(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let key = SecretHash::of("customer:alice@example.com");
    let day = secs(86_400);
    assert!(
        store
            .mark_reset_request(w.tenant.id, &key, T0, T0.minus(day))
            .await
            .unwrap()
    );
    let t1 = T0.plus(secs(60));
    assert!(
        !store
            .mark_reset_request(w.tenant.id, &key, t1, t1.minus(day))
            .await
            .unwrap(),
        "still pending"
    );
    // Concurrent marks once the old one lapsed: exactly one records.
    let later = T0.plus(day).plus(secs(1));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        let tenant = w.tenant.id;
        tasks.push(tokio::spawn(async move {
            store
                .mark_reset_request(tenant, &key, later, later.minus(day))
                .await
                .unwrap()
        }));
    }
    let mut recorded = 0;
    for t in tasks {
        recorded += usize::from(t.await.unwrap());
    }
    assert_eq!(recorded, 1);
    store.clear_reset_request(w.tenant.id, &key).await.unwrap();
    assert!(
        store
            .mark_reset_request(w.tenant.id, &key, later, later.minus(day))
            .await
            .unwrap(),
        "cleared by a completed reset"
    );
    let other = world("other");
    store.apply_provisioning(&other.plan()).await.unwrap();
    assert!(
        store
            .mark_reset_request(other.tenant.id, &key, later, later.minus(day))
            .await
            .unwrap(),
        "per tenant"
    );
}

/// One counter hit, without a limit.
async fn hit(store: &S, key: SecretHash, window_start: Timestamp) -> u32 {
    let counts = store
        .hit_counters(&[(key, u32::MAX)], window_start)
        .await
        .unwrap();
    assert_eq!(counts.len(), 1, "one key, one count");
    counts[0]
}

pub async fn counters_count_atomically(store: S) {
    let key = SecretHash::of("account|acme|customer|alice");
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { hit(&store, key, T0).await }));
    }
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=10).collect::<Vec<u32>>(),
        "each attempt gets its own number"
    );
    assert_eq!(
        hit(&store, key, T0.plus(secs(900))).await,
        1,
        "a new window starts at one"
    );
    store.clear_counters(&[key]).await.unwrap();
    assert_eq!(hit(&store, key, T0).await, 1, "cleared");
    assert_eq!(
        store.prune_counters(T0.plus(secs(1))).await.unwrap(),
        1,
        "the old window is pruned"
    );
    assert_eq!(
        hit(&store, key, T0.plus(secs(900))).await,
        1,
        "clearing forgot every window"
    );
}

pub async fn counters_stop_at_the_first_limit_passed(store: S) {
    let [ip, pair, account] = ["ip", "pair", "account"].map(SecretHash::of);
    let hits = [(ip, 2), (pair, 10), (account, 10)];
    assert_eq!(store.hit_counters(&hits, T0).await.unwrap(), vec![1, 1, 1]);
    assert_eq!(store.hit_counters(&hits, T0).await.unwrap(), vec![2, 2, 2]);
    assert_eq!(
        store.hit_counters(&hits, T0).await.unwrap(),
        vec![3],
        "past the first limit, the later keys are not counted"
    );
    assert_eq!(
        store
            .hit_counters(&[(pair, 2), (account, 10)], T0)
            .await
            .unwrap(),
        vec![3],
        "the pair was at 2, the account is not counted"
    );
    assert_eq!(hit(&store, account, T0).await, 3, "the account was at 2");
    assert_eq!(
        store.hit_counters(&[], T0).await.unwrap(),
        Vec::<u32>::new()
    );
    // Concurrent multi-key hits: each caller gets its own number on every key.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .hit_counters(&[(ip, u32::MAX), (pair, u32::MAX)], T0.plus(secs(900)))
                .await
                .unwrap()
        }));
    }
    let mut firsts = Vec::new();
    for t in tasks {
        let counts = t.await.unwrap();
        assert_eq!(counts.len(), 2);
        firsts.push(counts[0]);
    }
    firsts.sort_unstable();
    assert_eq!(firsts, (1..=8).collect::<Vec<u32>>());
    store.clear_counters(&[ip, pair]).await.unwrap();
    assert_eq!(hit(&store, ip, T0).await, 1, "cleared");
    assert_eq!(hit(&store, pair, T0.plus(secs(900))).await, 1, "cleared");
    assert_eq!(hit(&store, account, T0).await, 4, "not cleared");
    store.clear_counters(&[]).await.unwrap();
}

pub async fn login_attempts_count_and_read_the_account(store: S) {
    let w = world("acme");
    let mut plan = w.plan();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    // Bob's username is Carol's e-mail: the e-mail owner wins here too.
    let bob = w.user(
        UserKind::Customer,
        Some("bob@example.com"),
        Some("carol@example.com"),
    );
    let carol = w.user(UserKind::Customer, Some("carol@example.com"), None);
    plan.users
        .extend([alice.clone(), bob.clone(), carol.clone()]);
    plan.user_profiles
        .push((alice.id, vec![w.profiles[1].id, w.profiles[0].id]));
    store.apply_provisioning(&plan).await.unwrap();
    let [ip, account] = ["ip", "account"].map(SecretHash::of);
    let hits = [(ip, 2), (account, 10)];
    let attempt = |tenant, kind, login| LoginAttempt {
        hits: &hits,
        window_start: T0,
        tenant,
        kind,
        login,
    };
    let alice_with_profiles = Some((
        alice.clone(),
        vec!["admins".to_owned(), "buyers".to_owned()],
    ));
    let customer = |login| attempt(w.tenant.id, UserKind::Customer, login);
    assert_eq!(
        store
            .count_login_attempt(&customer(" ALICE@example.com"))
            .await
            .unwrap(),
        (vec![1, 1], alice_with_profiles.clone())
    );
    assert_eq!(
        store
            .count_login_attempt(&customer("nobody@example.com"))
            .await
            .unwrap(),
        (vec![2, 2], None),
        "an unknown login is counted the same"
    );
    assert_eq!(
        store
            .count_login_attempt(&customer("carol@example.com"))
            .await
            .unwrap(),
        (vec![3], Some((carol.clone(), Vec::new()))),
        "past the first limit the account is not counted, but still read"
    );
    assert_eq!(hit(&store, account, T0).await, 3, "the account was at 2");
    for (tenant, kind) in [
        (w.tenant.id, UserKind::Operator),
        (world("other").tenant.id, UserKind::Customer),
    ] {
        assert_eq!(
            store
                .count_login_attempt(&attempt(tenant, kind, "alice@example.com"))
                .await
                .unwrap()
                .1,
            None,
            "another kind or tenant"
        );
    }
    let uncounted = LoginAttempt {
        hits: &[],
        ..customer("bob@example.com")
    };
    assert_eq!(
        store.count_login_attempt(&uncounted).await.unwrap(),
        (Vec::new(), Some((bob.clone(), Vec::new())))
    );
    assert_eq!(
        hit(&store, ip, T0).await,
        6,
        "the ip was counted on every attempt"
    );
}

pub async fn sessions_open_with_their_login_writes(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    let [account, pair, other] = ["account", "pair", "other"].map(SecretHash::of);
    for key in [account, pair, other] {
        assert_eq!(hit(&store, key, T0).await, 1);
    }
    let session = w.session(&alice, T0);
    let first = refresh(session.id, "login-refresh-token", T0);
    let event = |action: &str| AuditEvent {
        id: AuditId::new(),
        at: T0,
        tenant_id: Some(w.tenant.id),
        user_id: Some(alice.id),
        app_id: Some(w.app.id),
        session_id: Some(session.id),
        action: action.into(),
        detail: String::new(),
        ip: Some("192.0.2.9".into()),
    };
    let succeeded = event("login.succeeded");
    store
        .create_session(&NewSession {
            session: &session,
            refresh: Some(&first),
            clear_counters: &[account, pair],
            audit: std::slice::from_ref(&succeeded),
        })
        .await
        .unwrap();
    assert_eq!(
        store.get_session(session.id).await.unwrap().as_ref(),
        Some(&session)
    );
    assert!(store.find_refresh(&first.hash).await.unwrap().is_some());
    assert_eq!(hit(&store, account, T0).await, 1, "cleared");
    assert_eq!(hit(&store, pair, T0).await, 1, "cleared");
    assert_eq!(hit(&store, other, T0).await, 2, "not listed, not cleared");
    let trail = |action: &'static str| {
        let store = store.clone();
        async move {
            store
                .list_audit(&AuditFilter {
                    action: Some(action.into()),
                    ..Default::default()
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(trail("login.succeeded").await, vec![succeeded]);

    // The same session again: refused, and nothing else it carried is written.
    let again = refresh(session.id, "another-refresh-token", T0);
    assert!(matches!(
        store
            .create_session(&NewSession {
                session: &session,
                refresh: Some(&again),
                clear_counters: &[other],
                audit: &[event("login.repeated")],
            })
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(hit(&store, other, T0).await, 3, "not cleared");
    assert!(store.find_refresh(&again.hash).await.unwrap().is_none());
    assert!(trail("login.repeated").await.is_empty());
}

pub async fn devices_upsert_by_code_and_unbind_on_revoke(store: S) {
    use portcullis_core::device::{DeviceReport, DeviceUpsert};
    use portcullis_core::ids::DeviceId;
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    let session = w.session(&alice, T0);
    store
        .create_session(&NewSession::new(&session, None))
        .await
        .unwrap();
    let report = DeviceReport {
        code: "phone-1".into(),
        kind: Some("mobile".into()),
        name: Some("Pixel".into()),
        os: Some("Android".into()),
        app_version: Some("1.0".into()),
        push_token: Some("fcm-1".into()),
        tags: Some(vec!["beta".into()]),
    };
    let first = store
        .upsert_device(&DeviceUpsert {
            tenant_id: w.tenant.id,
            new_id: DeviceId::new(),
            report: report.clone(),
            bind: None,
            take_over: false,
            at: T0,
        })
        .await
        .unwrap();
    assert_eq!(first.name.as_deref(), Some("Pixel"));
    assert_eq!(first.user_id, None);
    // Same code again: the same device; given fields replace, absent ones stay.
    let t1 = T0.plus(secs(5));
    let second = store
        .upsert_device(&DeviceUpsert {
            tenant_id: w.tenant.id,
            new_id: DeviceId::new(),
            report: DeviceReport {
                code: "phone-1".into(),
                app_version: Some("1.1".into()),
                push_token: Some("fcm-2".into()),
                ..Default::default()
            },
            bind: Some((alice.id, session.id)),
            take_over: false,
            at: t1,
        })
        .await
        .unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(second.name.as_deref(), Some("Pixel"));
    assert_eq!(second.app_version.as_deref(), Some("1.1"));
    assert_eq!(second.push_token.as_deref(), Some("fcm-2"));
    assert_eq!(second.tags, vec!["beta".to_owned()]);
    assert_eq!(second.user_id, Some(alice.id));
    assert_eq!(second.session_id, Some(session.id));
    assert_eq!(second.created_at, T0);
    assert_eq!(second.updated_at, t1);
    assert_eq!(
        store.get_device(first.id).await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store.find_device(w.tenant.id, "phone-1").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store.find_device(w.tenant.id, "PHONE-1").await.unwrap(),
        None
    );
    assert_eq!(
        store.list_user_devices(alice.id).await.unwrap(),
        vec![second.clone()]
    );
    // Revoking the session clears the push token and the session, keeps the user.
    let t2 = T0.plus(secs(10));
    assert!(
        store
            .revoke_session(session.id, t2, "logout")
            .await
            .unwrap()
    );
    let after = store.get_device(first.id).await.unwrap().unwrap();
    assert_eq!(after.push_token, None);
    assert_eq!(after.session_id, None);
    assert_eq!(after.user_id, Some(alice.id));
    assert_eq!(after.updated_at, t2);
    // Another user takes it over: owner and push token are theirs or nothing, never Alice's.
    let bob = w.user(UserKind::Customer, Some("bob@example.com"), None);
    store.insert_user(&bob, &[]).await.unwrap();
    store
        .upsert_device(&DeviceUpsert {
            tenant_id: w.tenant.id,
            new_id: DeviceId::new(),
            report: DeviceReport {
                code: "phone-1".into(),
                push_token: Some("fcm-alice-again".into()),
                ..Default::default()
            },
            bind: None,
            take_over: false,
            at: t2,
        })
        .await
        .unwrap();
    let taken = store
        .upsert_device(&DeviceUpsert {
            tenant_id: w.tenant.id,
            new_id: DeviceId::new(),
            report: DeviceReport {
                code: "phone-1".into(),
                ..Default::default()
            },
            bind: None,
            take_over: true,
            at: t2,
        })
        .await
        .unwrap();
    assert_eq!(
        taken.push_token, None,
        "the previous owner's token is not kept"
    );
    assert_eq!(taken.user_id, None);
    assert_eq!(
        taken.name.as_deref(),
        Some("Pixel"),
        "descriptive fields stay"
    );
    // Concurrent upserts of one new code make one device.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let tenant = w.tenant.id;
        tasks.push(tokio::spawn(async move {
            store
                .upsert_device(&DeviceUpsert {
                    tenant_id: tenant,
                    new_id: DeviceId::new(),
                    report: DeviceReport {
                        code: "tablet".into(),
                        name: Some(format!("t{i}")),
                        ..Default::default()
                    },
                    bind: None,
                    take_over: false,
                    at: T0,
                })
                .await
                .unwrap()
                .id
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one device for one code");
}

pub async fn fixed_opaque_tokens_join_a_session(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    let session = w.session(&alice, T0);
    store
        .create_session(&NewSession::new(&session, None))
        .await
        .unwrap();
    let record = portcullis_core::opaque::OpaqueRecord {
        hash: SecretHash::of("auth-key"),
        session_id: session.id,
        role: "user".into(),
        created_at: T0,
        last_used_at: T0,
        idle_ttl: secs(86_400),
        sliding: false,
    };
    store.add_opaque_token(&record).await.unwrap();
    assert_eq!(
        store.find_opaque(&record.hash).await.unwrap(),
        Some(record.clone())
    );
    assert!(matches!(
        store.add_opaque_token(&record).await,
        Err(StoreError::Conflict(_))
    ));
    let orphan = portcullis_core::opaque::OpaqueRecord {
        hash: SecretHash::of("orphan"),
        session_id: portcullis_core::ids::SessionId::new(),
        ..record
    };
    assert!(
        store.add_opaque_token(&orphan).await.is_err(),
        "no session, no token"
    );
    assert_eq!(store.find_opaque(&orphan.hash).await.unwrap(), None);
}

pub async fn password_change_dates(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    let old = alice.password_hash.clone().unwrap();
    assert_eq!(
        store
            .get_user(alice.id)
            .await
            .unwrap()
            .unwrap()
            .password_changed_at,
        T0
    );
    // A rehash of the same password keeps the date; a new password moves it.
    let t1 = T0.plus(secs(60));
    store
        .set_password_hash(alice.id, "$rehashed", Some(&old), t1)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_user(alice.id)
            .await
            .unwrap()
            .unwrap()
            .password_changed_at,
        T0
    );
    let t2 = T0.plus(secs(120));
    store
        .set_password_hash(alice.id, "$new", None, t2)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_user(alice.id)
            .await
            .unwrap()
            .unwrap()
            .password_changed_at,
        t2
    );
}

pub async fn ended_sessions_are_purged_with_their_tokens(store: S) {
    use portcullis_core::device::{DeviceReport, DeviceUpsert};
    use portcullis_core::ids::DeviceId;
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    let day = secs(86_400);
    // Sessions of `w.session` end absolutely a day after they start.
    let open = |at: Timestamp, secret: &'static str| {
        let store = store.clone();
        let session = w.session(&alice, at);
        async move {
            let first = refresh(session.id, secret, at);
            store
                .create_session(&NewSession::new(&session, Some(&first)))
                .await
                .unwrap();
            (session, first)
        }
    };

    // Ended: a rotated refresh token, an opaque token, an open basket, a device bound to it.
    let (ended, first) = open(T0, "ended-first").await;
    let next = refresh(ended.id, "ended-next", T0.plus(secs(60)));
    rotate(&store, rotation(&first, "sealed-pair", next.clone())).await;
    let opaque = opaque(ended.id, "ended-opaque", T0);
    store.add_opaque_token(&opaque).await.unwrap();
    let open_basket = w.basket(ended.id, Some(alice.id));
    store.create_basket(&open_basket, None).await.unwrap();
    let device = store
        .upsert_device(&DeviceUpsert {
            tenant_id: w.tenant.id,
            new_id: DeviceId::new(),
            report: DeviceReport {
                code: "phone-1".into(),
                push_token: Some("fcm-1".into()),
                ..Default::default()
            },
            bind: Some((alice.id, ended.id)),
            take_over: false,
            at: T0,
        })
        .await
        .unwrap();
    // Ended as long ago, but its basket was checked out: the purchase keeps it.
    let (bought, _) = open(T0, "bought-first").await;
    let paid = w.basket(bought.id, Some(alice.id));
    store.create_basket(&paid, None).await.unwrap();
    let purchase = purchase(&paid, "long-id");
    assert!(store.checkout_basket(paid.id, &purchase).await.unwrap());
    // Ends exactly at the cut: not before it, so kept.
    let cut = T0.plus(day * 5);
    let (at_cut, _) = open(cut.minus(day), "at-cut").await;
    // Live.
    let (live, live_first) = open(T0.plus(day * 10), "live-first").await;

    assert_eq!(store.purge_sessions(cut, 100).await.unwrap(), 1);
    assert_eq!(store.get_session(ended.id).await.unwrap(), None);
    for token in [&first, &next] {
        assert!(store.find_refresh(&token.hash).await.unwrap().is_none());
    }
    assert!(
        store
            .list_refresh_tokens(&[ended.id])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.find_opaque(&opaque.hash).await.unwrap(), None);
    assert_eq!(store.get_basket(open_basket.id).await.unwrap(), None);
    let kept = store
        .get_device(device.id)
        .await
        .unwrap()
        .expect("device kept");
    assert_eq!(kept.session_id, None, "unbound");
    assert_eq!(kept.user_id, Some(alice.id));
    for s in [&bought, &at_cut, &live] {
        assert!(store.get_session(s.id).await.unwrap().is_some());
    }
    assert_eq!(
        store.find_purchase(&purchase.long_id_hash).await.unwrap(),
        Some(purchase)
    );
    assert!(
        store
            .find_refresh(&live_first.hash)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.purge_sessions(cut, 100).await.unwrap(), 0, "done");

    // Batches take the oldest first and stop at the limit.
    let mut ended = Vec::new();
    for (i, secret) in ["b0", "b1", "b2"].into_iter().enumerate() {
        let hours = u64::try_from(i).unwrap() * 3600;
        ended.push(open(T0.plus(secs(hours)), secret).await.0);
    }
    assert_eq!(store.purge_sessions(cut, 2).await.unwrap(), 2);
    assert_eq!(store.get_session(ended[0].id).await.unwrap(), None);
    assert_eq!(store.get_session(ended[1].id).await.unwrap(), None);
    assert!(store.get_session(ended[2].id).await.unwrap().is_some());
    assert_eq!(store.purge_sessions(cut, 2).await.unwrap(), 1);
    assert_eq!(store.purge_sessions(cut, 2).await.unwrap(), 0);
}

/// What a snapshot takes besides users and live sessions: opaque tokens, user numbers,
/// devices, baskets and purchases; and which ended sessions it still needs.
pub async fn snapshots_keep_what_outlives_a_session(store: S) {
    use portcullis_core::device::{DeviceReport, DeviceUpsert};
    use portcullis_core::ids::DeviceId;
    use portcullis_core::snapshot::Snapshot;
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    let bob = w.user(UserKind::Customer, Some("bob@example.com"), None);
    for u in [&alice, &bob] {
        store.insert_user(u, &[]).await.unwrap();
    }
    let bob_number = store.user_number(bob.id).await.unwrap();
    let alice_number = store.user_number(alice.id).await.unwrap();
    let now = T0.plus(secs(3 * 86_400));
    // An opaque token used an hour ago: its session's own idle end passed long ago, but the
    // token slides, so the session is live.
    let mut jrni = w.session(&alice, now.minus(secs(86_400 / 2)));
    jrni.idle_expires_at = jrni.created_at.plus(secs(900));
    let token = portcullis_core::opaque::OpaqueRecord {
        created_at: jrni.created_at,
        idle_ttl: secs(7200),
        ..opaque(jrni.id, "jrni-token", now.minus(secs(3600)))
    };
    store.create_opaque_session(&jrni, &token).await.unwrap();
    let open_basket = w.basket(jrni.id, Some(alice.id));
    store.create_basket(&open_basket, None).await.unwrap();
    // Ended (a day after T0), with a purchase: kept for it, without its refresh token.
    let bought = w.session(&alice, T0);
    let spent = refresh(bought.id, "bought", T0);
    store
        .create_session(&NewSession::new(&bought, Some(&spent)))
        .await
        .unwrap();
    let paid = w.basket(bought.id, Some(alice.id));
    store.create_basket(&paid, None).await.unwrap();
    let purchase = purchase(&paid, "long-id");
    assert!(store.checkout_basket(paid.id, &purchase).await.unwrap());
    // Ended, with an open basket and a device bound to it: left behind, the device unbound.
    let ended = w.session(&bob, T0);
    store
        .create_session(&NewSession::new(&ended, None))
        .await
        .unwrap();
    let abandoned = w.basket(ended.id, Some(alice.id));
    store.create_basket(&abandoned, None).await.unwrap();
    let device = |code: &str, session| DeviceUpsert {
        tenant_id: w.tenant.id,
        new_id: DeviceId::new(),
        report: DeviceReport {
            code: code.into(),
            push_token: Some(format!("fcm-{code}")),
            tags: Some(vec!["beta".into()]),
            ..Default::default()
        },
        bind: Some(session),
        take_over: false,
        at: T0,
    };
    let phone = store
        .upsert_device(&device("phone", (bob.id, ended.id)))
        .await
        .unwrap();
    let tablet = store
        .upsert_device(&device("tablet", (alice.id, jrni.id)))
        .await
        .unwrap();

    let snap = Snapshot::take(store.as_ref(), now).await.unwrap();
    let ids: Vec<_> = snap.sessions.iter().map(|s| s.id).collect();
    assert!(
        ids.contains(&jrni.id) && ids.contains(&bought.id),
        "{ids:?}"
    );
    assert!(!ids.contains(&ended.id));
    assert_eq!(snap.opaque_tokens, vec![token]);
    assert!(
        snap.refresh_tokens.is_empty(),
        "the ended session's token stays"
    );
    let mut numbers = snap.user_numbers.clone();
    numbers.sort_by_key(|(_, n)| *n);
    let mut expected = vec![(bob.id, bob_number), (alice.id, alice_number)];
    expected.sort_by_key(|(_, n)| *n);
    assert_eq!(numbers, expected);
    let mut baskets: Vec<_> = snap.baskets.iter().map(|b| b.id).collect();
    baskets.sort();
    let mut kept = vec![open_basket.id, paid.id];
    kept.sort();
    assert_eq!(baskets, kept, "the abandoned basket stays behind");
    assert_eq!(snap.purchases, vec![purchase]);
    let unbound = portcullis_core::device::Device {
        session_id: None,
        ..phone
    };
    let mut devices = snap.devices.clone();
    devices.sort_by_key(|d| d.code.clone());
    assert_eq!(devices, vec![unbound, tablet]);
}

/// A restored snapshot serves as the source did: user numbers stay and new ones come after
/// them; opaque tokens, devices, baskets and purchases are there as they were.
pub async fn restores_keep_numbers_tokens_and_purchases(store: S) {
    use portcullis_core::basket::Basket;
    use portcullis_core::device::Device;
    use portcullis_core::ids::DeviceId;
    use portcullis_core::snapshot::Snapshot;
    let w = world("acme");
    let plan = w.plan();
    let [alice, bob, carol] = ["alice", "bob", "carol"].map(|name| {
        w.user(
            UserKind::Customer,
            Some(&format!("{name}@example.com")),
            None,
        )
    });
    let session = w.session(&alice, T0);
    let token = opaque(session.id, "restored-token", T0);
    let device = Device {
        id: DeviceId::new(),
        tenant_id: w.tenant.id,
        code: "phone-1".into(),
        kind: Some("mobile".into()),
        name: None,
        os: Some("Android".into()),
        app_version: None,
        push_token: Some("fcm-1".into()),
        tags: vec!["beta".into()],
        user_id: Some(alice.id),
        session_id: Some(session.id),
        created_at: T0,
        updated_at: T0.plus(secs(5)),
    };
    let basket = Basket {
        checked_out_at: Some(T0.plus(secs(60))),
        ..w.basket(session.id, Some(alice.id))
    };
    let purchase = purchase(&basket, "long-id");
    let snap = Snapshot {
        tenants: plan.tenants.clone(),
        storefronts: plan.storefronts.clone(),
        apps: plan.apps.clone(),
        profiles: plan.profiles.clone(),
        users: vec![alice.clone(), bob.clone(), carol.clone()],
        sessions: vec![session.clone()],
        opaque_tokens: vec![token.clone()],
        user_numbers: vec![(bob.id, 7), (alice.id, 41)],
        devices: vec![device.clone()],
        baskets: vec![basket.clone()],
        purchases: vec![purchase.clone()],
        ..Default::default()
    };
    store.restore(&snap).await.unwrap();
    let counts = store.counts().await.unwrap();
    for (table, n) in snap.counts() {
        let stored = counts.iter().find(|(t, _)| *t == table).unwrap().1;
        assert_eq!(stored, n, "{table}");
    }
    assert_eq!(store.user_number(alice.id).await.unwrap(), 41);
    assert_eq!(store.user_by_number(7).await.unwrap(), Some(bob.id));
    assert!(
        store.user_number(carol.id).await.unwrap() > 41,
        "numbers go on after the largest restored"
    );
    assert_eq!(store.find_opaque(&token.hash).await.unwrap(), Some(token));
    assert_eq!(store.get_device(device.id).await.unwrap(), Some(device));
    assert_eq!(store.get_basket(basket.id).await.unwrap(), Some(basket));
    assert_eq!(
        store.find_purchase(&purchase.long_id_hash).await.unwrap(),
        Some(purchase)
    );
}

pub async fn expired_refresh_tokens_are_purged(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    store.insert_user(&alice, &[]).await.unwrap();
    // `refresh` tokens expire two hours after their issue.
    let session = w.session(&alice, T0);
    let first = refresh(session.id, "first", T0);
    store
        .create_session(&NewSession::new(&session, Some(&first)))
        .await
        .unwrap();
    let second = refresh(session.id, "second", T0.plus(secs(60)));
    rotate(&store, rotation(&first, "pair-1", second.clone())).await;
    let third = refresh(session.id, "third", T0.plus(secs(120)));
    rotate(&store, rotation(&second, "pair-2", third.clone())).await;
    let other = w.session(&alice, T0.plus(secs(90)));
    let others = refresh(other.id, "other", T0.plus(secs(90)));
    store
        .create_session(&NewSession::new(&other, Some(&others)))
        .await
        .unwrap();

    // Expired before the cut: `first`, `second` and `other`'s token; `third` is not.
    let cut = T0.plus(secs(7200 + 100));
    assert_eq!(store.purge_refresh_tokens(cut, 2).await.unwrap(), 2);
    assert!(store.find_refresh(&first.hash).await.unwrap().is_none());
    assert!(store.find_refresh(&second.hash).await.unwrap().is_none());
    assert!(
        store.find_refresh(&others.hash).await.unwrap().is_some(),
        "oldest first"
    );
    assert_eq!(store.purge_refresh_tokens(cut, 2).await.unwrap(), 1);
    assert_eq!(store.purge_refresh_tokens(cut, 2).await.unwrap(), 0);
    let left = store.find_refresh(&third.hash).await.unwrap().unwrap();
    assert_eq!(left.record, third);
    for s in [&session, &other] {
        assert!(
            store.get_session(s.id).await.unwrap().is_some(),
            "sessions stay"
        );
    }
}

/// A store read in parts (`migrate-store`) gives every row once, in parts of the size asked
/// for, and the same rows as a whole read.
pub async fn reads_in_parts_cover_the_store_once(store: S) {
    use portcullis_core::snapshot::{Snapshot, read_in_parts};
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let mut users = Vec::new();
    for i in 0..5 {
        let user = w.user(UserKind::Customer, Some(&format!("u{i}@example.com")), None);
        // Every other user has a profile: pages carry the assignments of their users.
        let profiles: Vec<_> = (i % 2 == 0)
            .then_some(w.profiles[0].id)
            .into_iter()
            .collect();
        store.insert_user(&user, &profiles).await.unwrap();
        let session = w.session(&user, T0);
        let token = refresh(session.id, &format!("refresh-{i}"), T0);
        let mut new = NewSession::new(&session, Some(&token));
        let event = AuditEvent {
            id: AuditId::new(),
            at: T0,
            tenant_id: Some(w.tenant.id),
            user_id: Some(user.id),
            app_id: Some(w.app.id),
            session_id: Some(session.id),
            action: "login.succeeded".into(),
            detail: String::new(),
            ip: None,
        };
        let events = [event];
        new.audit = &events;
        store.create_session(&new).await.unwrap();
        if i == 3 {
            store
                .add_opaque_token(&opaque(session.id, "opaque-3", T0))
                .await
                .unwrap();
        }
        users.push(user);
    }
    let now = T0.plus(secs(1));
    let mut parts: Vec<Snapshot> = Vec::new();
    read_in_parts(store.as_ref(), now, 2, &mut parts)
        .await
        .unwrap();
    for part in &parts {
        assert!(
            part.users.len() <= 2 && part.sessions.len() <= 2,
            "{part:?}"
        );
        assert!(part.audit_events.len() <= 2, "{part:?}");
    }
    let gathered = |f: fn(&Snapshot) -> Vec<String>| {
        let mut all: Vec<String> = parts.iter().flat_map(f).collect();
        all.sort();
        all
    };
    let whole = Snapshot::take(store.as_ref(), now).await.unwrap();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let user_ids = gathered(|p| p.users.iter().map(|u| u.id.to_string()).collect());
    let mut expected: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
    expected.sort();
    assert_eq!(user_ids, expected, "every user once");
    assert_eq!(
        user_ids,
        sorted(whole.users.iter().map(|u| u.id.to_string()).collect())
    );
    let assigned = gathered(|p| {
        p.user_profiles
            .iter()
            .map(|(u, p)| format!("{u}:{p}"))
            .collect()
    });
    assert_eq!(assigned.len(), 3, "{assigned:?}");
    let sessions = gathered(|p| p.sessions.iter().map(|s| s.id.to_string()).collect());
    assert_eq!(sessions.len(), 5);
    assert_eq!(
        sessions,
        sorted(whole.sessions.iter().map(|s| s.id.to_string()).collect())
    );
    let tokens = gathered(|p| {
        p.refresh_tokens
            .iter()
            .map(|r| r.session_id.to_string())
            .collect()
    });
    assert_eq!(tokens, sessions, "each session's token, with it");
    let opaque_tokens: Vec<_> = parts.iter().flat_map(|p| p.opaque_tokens.clone()).collect();
    assert_eq!(
        opaque_tokens,
        vec![opaque(users_session(&whole, &users[3]), "opaque-3", T0)]
    );
    let events = gathered(|p| p.audit_events.iter().map(|e| e.id.to_string()).collect());
    assert_eq!(events.len(), 5, "every event once");
    // Users come before their sessions, sessions before the events: the order a target
    // writes them in.
    let first = |f: fn(&Snapshot) -> bool| parts.iter().position(f).unwrap();
    let last = |f: fn(&Snapshot) -> bool| parts.iter().rposition(f).unwrap();
    assert!(last(|p| !p.users.is_empty()) < first(|p| !p.sessions.is_empty()));
    assert!(last(|p| !p.sessions.is_empty()) < first(|p| !p.audit_events.is_empty()));
}

fn users_session(
    snap: &portcullis_core::snapshot::Snapshot,
    user: &portcullis_core::user::User,
) -> portcullis_core::ids::SessionId {
    snap.sessions
        .iter()
        .find(|s| s.user_id == Some(user.id))
        .unwrap()
        .id
}

/// A copy that fails part-way leaves its target as empty as it found it, and ready for
/// another try.
pub async fn a_failed_restore_leaves_the_target_empty(store: S) {
    use portcullis_core::snapshot::Snapshot;
    let w = world("acme");
    let plan = w.plan();
    let alice = w.user(UserKind::Customer, Some("alice@example.com"), None);
    let session = w.session(&alice, T0);
    let empty = store.counts().await.unwrap();
    let mut tx = store.begin_restore().await.unwrap();
    tx.write(&Snapshot {
        tenants: plan.tenants.clone(),
        storefronts: plan.storefronts.clone(),
        apps: plan.apps.clone(),
        profiles: plan.profiles.clone(),
        users: vec![alice.clone()],
        sessions: vec![session.clone()],
        ..Default::default()
    })
    .await
    .unwrap();
    // The same session again: a conflict in the second part.
    let again = Snapshot {
        sessions: vec![session.clone()],
        ..Default::default()
    };
    assert!(tx.write(&again).await.is_err());
    drop(tx);
    assert_eq!(
        store.counts().await.unwrap(),
        empty,
        "nothing of the first part stays"
    );
    let tx = store
        .begin_restore()
        .await
        .expect("the target is still empty");
    tx.commit().await.unwrap();
}

/// Several refresh tokens read at once (the refresh grant's batches) come back as each would
/// alone; unknown ones are left out.
pub async fn refresh_tokens_read_together_as_alone(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    let mut hashes = Vec::new();
    for name in ["alice", "bob"] {
        let user = w.user(
            UserKind::Customer,
            Some(&format!("{name}@example.com")),
            None,
        );
        store.insert_user(&user, &[]).await.unwrap();
        let session = w.session(&user, T0);
        let token = refresh(session.id, &format!("refresh-{name}"), T0);
        store
            .create_session(&NewSession::new(&session, Some(&token)))
            .await
            .unwrap();
        hashes.push(token.hash);
    }
    let unknown = SecretHash::of("never-issued");
    let mut asked = vec![hashes[1], unknown, hashes[0]];
    let mut found = store.find_refreshes(&asked).await.unwrap();
    found.sort_by_key(|l| l.record.hash.as_bytes().to_vec());
    asked.retain(|h| *h != unknown);
    asked.sort_by_key(|h| h.as_bytes().to_vec());
    let mut alone = Vec::new();
    for h in &asked {
        alone.push(store.find_refresh(h).await.unwrap().unwrap());
    }
    assert_eq!(found, alone);
    assert!(alone.iter().all(|l| l.user.is_some()));
    assert!(store.find_refreshes(&[unknown]).await.unwrap().is_empty());
}

/// A write whose caller goes away part-way (a client that hangs up, a request that times
/// out) happens entirely or not at all, and leaves the store writable: the writes after it
/// commit. The abandoned writes stop after every number of polls up to a few dozen, so that
/// one of them stops between a transaction's BEGIN and what follows it.
pub async fn abandoned_writes_leave_the_store_writable(store: S) {
    let w = world("acme");
    store.apply_provisioning(&w.plan()).await.unwrap();
    for polls in 0..120 {
        let abandoned = w.user(
            UserKind::Customer,
            Some(&format!("gone{polls}@example.com")),
            None,
        );
        {
            let mut write = std::pin::pin!(store.insert_user(&abandoned, &[]));
            for _ in 0..polls / 3 {
                if poll_once(write.as_mut()).await.is_ready() {
                    break;
                }
                // Let the driver's threads move on between polls, by a varying amount.
                for _ in 0..polls % 3 {
                    tokio::task::yield_now().await;
                }
            }
        }
        let next = w.user(
            UserKind::Customer,
            Some(&format!("next{polls}@example.com")),
            None,
        );
        tokio::time::timeout(secs(10), store.insert_user(&next, &[]))
            .await
            .unwrap_or_else(|_| panic!("a write after the one abandoned at {polls} polls hung"))
            .unwrap_or_else(|e| panic!("a write after the one abandoned at {polls} polls: {e}"));
        let written = store.get_user(abandoned.id).await.unwrap();
        assert!(
            written.is_none() || written.as_ref() == Some(&abandoned),
            "all or nothing"
        );
    }
}

/// Polls a future once, as a caller that is about to give up on it would.
async fn poll_once<F: std::future::Future + Unpin>(mut f: F) -> std::task::Poll<F::Output> {
    std::future::poll_fn(|cx| std::task::Poll::Ready(std::pin::Pin::new(&mut f).poll(cx))).await
}
