//! The administrative commands: import/export, users, sessions, keys. They open the store
//! directly; a running server picks their changes up from the change feed.

use crate::cli::{
    AuditArgs, Format, KeyCommand, OutboxCommand, ProfileCommand, SessionCommand, UserCommand,
    UserRef,
};
use anyhow::{Context, anyhow, bail};
use portcullis_core::Core;
use portcullis_core::audit::AuditFilter;
use portcullis_core::ids::{AuditId, MessageId, SessionId};
use portcullis_core::outbox::{OutboxFilter, OutboxStatus};
use portcullis_core::profile::{Right, RouteRule};
use portcullis_core::provisioning::ProvisioningDoc;
use portcullis_core::service::NewUser;
use portcullis_core::session::SessionFilter;
use portcullis_core::user::{User, UserKind, UserStatus};
use std::io::BufRead;
use std::path::Path;
use zeroize::Zeroizing;

/// Reads a provisioning file: JSON if it ends in `.json`, TOML otherwise. Parse errors carry
/// the line and column.
pub fn read_doc(path: &Path) -> anyhow::Result<ProvisioningDoc> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        serde_json::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
    } else {
        toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
    }
}

pub async fn import(core: &Core, path: &Path, dry_run: bool) -> anyhow::Result<()> {
    let doc = read_doc(path)?;
    let report = if dry_run {
        core.plan_import(&doc).await?.1
    } else {
        core.import(&doc).await?
    };
    let verb = if dry_run { "would import" } else { "imported" };
    println!("{verb} {}: {report}", path.display());
    Ok(())
}

pub async fn export(core: &Core, format: Format) -> anyhow::Result<()> {
    let doc = core.export().await?;
    let text = match format {
        Format::Toml => toml::to_string_pretty(&doc)?,
        Format::Json => serde_json::to_string_pretty(&doc)? + "\n",
    };
    print!("{text}");
    Ok(())
}

fn parse_kind(kind: &str) -> anyhow::Result<UserKind> {
    UserKind::parse(kind)
        .ok_or_else(|| anyhow!("unknown kind {kind:?}: use customer, operator, supplier or guest"))
}

fn read_password() -> anyhow::Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

async fn find(core: &Core, r: &UserRef) -> anyhow::Result<User> {
    let tenant = core.tenant_by_slug(&r.tenant)?;
    Ok(core
        .find_user(&tenant, parse_kind(&r.kind)?, &r.login)
        .await?)
}

pub async fn user(core: &Core, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            tenant,
            kind,
            email,
            username,
            phone,
            store,
            profiles,
            password_stdin,
        } => {
            let tenant = core.tenant_by_slug(&tenant)?;
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let new = NewUser {
                kind: parse_kind(&kind)?,
                email,
                username,
                phone,
                password,
                store,
                profiles,
            };
            let user = core.add_user(&tenant, new).await?;
            println!("{}", user.id);
        }
        UserCommand::Passwd { user } => {
            let tenant = core.tenant_by_slug(&user.tenant)?;
            let found = find(core, &user).await?;
            core.set_password(&tenant, &found, read_password()?, "cli")
                .await?;
            println!("password changed; sessions of {} ended", found.id);
        }
        UserCommand::Disable { user } => {
            let found = find(core, &user).await?;
            core.set_user_status(&found, UserStatus::Disabled, "cli")
                .await?;
            println!("{} disabled; sessions ended", found.id);
        }
        UserCommand::Profiles { user, set } => {
            let found = find(core, &user).await?;
            let profiles = match set {
                Some(list) => {
                    let names: Vec<String> = list
                        .split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(str::to_owned)
                        .collect();
                    core.set_user_profiles(&found, &names, "cli").await?
                }
                None => core.profiles_of(&found).await?,
            };
            println!("{}", profiles.join(","));
        }
        UserCommand::Unlock { user, ip } => {
            let tenant = core.tenant_by_slug(&user.tenant)?;
            core.unlock_login(&tenant, parse_kind(&user.kind)?, &user.login, ip.as_deref())
                .await?;
            println!("{} may log in again", user.login);
        }
        UserCommand::Enable { user } => {
            let found = find(core, &user).await?;
            core.set_user_status(&found, UserStatus::Active, "cli")
                .await?;
            println!("{} enabled", found.id);
        }
        UserCommand::List { tenant, kind, json } => {
            let tenant = core.tenant_by_slug(&tenant)?;
            let kind = kind.as_deref().map(parse_kind).transpose()?;
            let users = core.list_users(&tenant, kind).await?;
            if json {
                let rows: Vec<_> = users
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "id": u.id.to_string(), "kind": u.kind.as_str(), "email": u.email,
                            "username": u.username, "phone": u.phone, "status": u.status.as_str(),
                            "created_at": u.created_at.to_rfc3339(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{:<36}  {:<8}  {:<9}  LOGIN", "ID", "KIND", "STATUS");
                for u in users {
                    println!(
                        "{:<36}  {:<8}  {:<9}  {}",
                        u.id,
                        u.kind.as_str(),
                        u.status.as_str(),
                        u.display_login()
                    );
                }
            }
        }
    }
    Ok(())
}

pub async fn session(core: &Core, cmd: SessionCommand) -> anyhow::Result<()> {
    match cmd {
        SessionCommand::List {
            tenant,
            login,
            kind,
            all,
            json,
        } => {
            let tenant = tenant
                .as_deref()
                .map(|t| core.tenant_by_slug(t))
                .transpose()?;
            let user_id = match (&tenant, login) {
                (Some(t), Some(login)) => {
                    Some(core.find_user(t, parse_kind(&kind)?, &login).await?.id)
                }
                (None, Some(_)) => bail!("--login needs --tenant"),
                _ => None,
            };
            let filter = SessionFilter {
                tenant_id: tenant.map(|t| t.id),
                user_id,
                live_at: (!all).then(|| core.now()),
                limit: 1000,
            };
            let sessions = core.list_sessions(&filter).await?;
            let now = core.now();
            let state = |s: &portcullis_core::session::Session| {
                if s.revoked_at.is_some() {
                    "revoked"
                } else if s.is_live(now) {
                    "live"
                } else {
                    "expired"
                }
            };
            if json {
                let rows: Vec<_> = sessions
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "id": s.id.to_string(), "user_id": s.user_id.map(|u| u.to_string()),
                            "kind": s.kind.map(|k| k.as_str()), "created_at": s.created_at.to_rfc3339(),
                            "last_used_at": s.last_used_at.to_rfc3339(), "revoked_at": s.revoked_at.map(|t| t.to_rfc3339()),
                            "ip": s.ip, "state": state(s),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<36}  {:<36}  {:<25}  STATE",
                    "SESSION", "USER", "LAST USED"
                );
                for s in sessions {
                    let user = s
                        .user_id
                        .map(|u| u.to_string())
                        .unwrap_or_else(|| "(service)".into());
                    println!(
                        "{:<36}  {:<36}  {:<25}  {}",
                        s.id,
                        user,
                        s.last_used_at.to_rfc3339(),
                        state(&s)
                    );
                }
            }
        }
        SessionCommand::Revoke { session_id } => {
            let sid = SessionId::parse(&session_id)
                .ok_or_else(|| anyhow!("{session_id:?} is not a session id"))?;
            core.revoke_session_by_operator(sid, "cli").await?;
            println!("session {sid} revoked");
        }
        SessionCommand::Purge => {
            let retention = core.settings().session_retention;
            if retention.is_zero() {
                println!("sessions.retention is 0s: sessions are kept for ever");
            } else {
                let purged = core.purge_ended().await?;
                println!(
                    "sessions deleted: {}, refresh tokens deleted: {} (ended more than {} ago)",
                    purged.sessions,
                    purged.refresh_tokens,
                    humantime::format_duration(retention)
                );
            }
        }
    }
    Ok(())
}

pub async fn key(core: &Core, cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Rotate { tenant } => {
            let tenant = core.tenant_by_slug(&tenant)?;
            let kid = core.rotate_key(&tenant).await?;
            println!(
                "new signing key {kid} for {}; the previous key verifies until its tokens expire",
                tenant.slug
            );
        }
    }
    Ok(())
}

pub async fn audit(core: &Core, args: AuditArgs) -> anyhow::Result<()> {
    let tenant = args.tenant.map(|t| core.tenant_by_slug(&t)).transpose()?;
    let user_id = match (&args.user, &tenant) {
        (None, _) => None,
        (Some(_), None) => bail!("--user needs --tenant"),
        (Some(login), Some(t)) => {
            let mut found = None;
            for kind in UserKind::ALL {
                if let Ok(u) = core.find_user(t, kind, login).await {
                    found = Some(u.id);
                    break;
                }
            }
            Some(found.ok_or_else(|| anyhow!("no user {login:?} in tenant {}", t.slug))?)
        }
    };
    let user_kind = args
        .kind
        .map(|k| UserKind::parse(&k).ok_or_else(|| anyhow!("--kind {k:?}: not a user kind")))
        .transpose()?;
    let filter = AuditFilter {
        tenant_id: tenant.as_ref().map(|t| t.id),
        user_id,
        user_kind,
        action: args.action,
        since: args
            .since
            .map(|s| parse_time(core, "--since", &s))
            .transpose()?,
        until: args
            .until
            .map(|s| parse_time(core, "--until", &s))
            .transpose()?,
        before: args
            .before
            .map(|id| {
                AuditId::parse(&id).ok_or_else(|| anyhow!("--before {id:?}: not an event id"))
            })
            .transpose()?,
        limit: args.limit.clamp(1, 100_000),
    };
    let json = args.json;
    let dir = core.directory();
    for e in core.audit_events(&filter).await? {
        let slug = e
            .tenant_id
            .and_then(|id| dir.tenant(id))
            .map(|t| t.slug.clone());
        let client = e
            .app_id
            .and_then(|id| dir.app(id))
            .map(|a| a.client_id.clone());
        if json {
            let line = serde_json::json!({
                "id": e.id.to_string(), "at": e.at.to_rfc3339(), "action": e.action, "tenant": slug,
                "user": e.user_id.map(|u| u.to_string()), "client_id": client,
                "session": e.session_id.map(|s| s.to_string()), "ip": e.ip, "detail": e.detail,
            });
            println!("{line}");
        } else {
            println!(
                "{}  {:<20} {:<12} {:<36} {:<15} {}",
                e.at.to_rfc3339(),
                e.action,
                slug.as_deref().unwrap_or("-"),
                e.user_id.map_or_else(|| "-".to_owned(), |u| u.to_string()),
                e.ip.as_deref().unwrap_or("-"),
                e.detail
            );
        }
    }
    Ok(())
}

/// RFC 3339, or an age before now (`2h`).
fn parse_time(core: &Core, flag: &str, s: &str) -> anyhow::Result<portcullis_core::Timestamp> {
    if let Some(t) = portcullis_core::Timestamp::parse_rfc3339(s) {
        return Ok(t);
    }
    let age = humantime::parse_duration(s)
        .map_err(|_| anyhow!("{flag} {s:?}: not an RFC 3339 time nor an age like 2h"))?;
    Ok(core.now().minus(age))
}

pub async fn profile(core: &Core, cmd: ProfileCommand) -> anyhow::Result<()> {
    match cmd {
        ProfileCommand::List { tenant } => {
            let tenant = core.tenant_by_slug(&tenant)?;
            for p in core.profiles(&tenant).await? {
                println!("{}", p.name);
                for r in &p.rules {
                    let methods = r.methods.as_ref().map(|m| format!("{} ", m.join(",")));
                    println!(
                        "  {}{}={}",
                        methods.unwrap_or_default(),
                        r.route,
                        r.right.as_str()
                    );
                }
            }
        }
        ProfileCommand::Set {
            tenant,
            name,
            rules,
        } => {
            let tenant = core.tenant_by_slug(&tenant)?;
            let rules = rules
                .iter()
                .map(|r| parse_rule(r))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let saved = core.save_profile(&tenant, &name, rules, "cli").await?;
            println!(
                "profile {} saved with {} rules",
                saved.name,
                saved.rules.len()
            );
        }
    }
    Ok(())
}

/// `[METHODS ]ROUTE=RIGHT`, e.g. `POST,PUT /v1/cart/**=read-write`.
fn parse_rule(s: &str) -> anyhow::Result<RouteRule> {
    let (lhs, right) = s
        .rsplit_once('=')
        .ok_or_else(|| anyhow!("rule {s:?}: expected [METHODS ]ROUTE=RIGHT"))?;
    let right = Right::parse(right.trim()).ok_or_else(|| {
        anyhow!(
            "rule {s:?}: right {:?} is not none, read or read-write",
            right.trim()
        )
    })?;
    // The route is the last word; the methods, comma-separated, come before it.
    let lhs = lhs.trim();
    let (methods, route): (Option<Vec<String>>, &str) = match lhs.rsplit_once(' ') {
        Some((m, route)) => (
            Some(
                m.split(',')
                    .map(|x| x.trim().to_ascii_uppercase())
                    .filter(|x| !x.is_empty())
                    .collect(),
            ),
            route.trim(),
        ),
        None => (None, lhs),
    };
    portcullis_core::profile::validate_rules(&[RouteRule {
        route: route.to_owned(),
        right,
        methods: methods.clone(),
    }])
    .map_err(|(_, field, why)| anyhow!("rule {s:?}: {field}: {why}"))?;
    Ok(RouteRule {
        route: route.to_owned(),
        right,
        methods,
    })
}

pub async fn outbox(core: &Core, cmd: OutboxCommand) -> anyhow::Result<()> {
    match cmd {
        OutboxCommand::List { status, json } => {
            let status = status
                .as_deref()
                .map(|s| {
                    OutboxStatus::parse(s)
                        .ok_or_else(|| anyhow!("unknown status {s:?}: use pending, sent or dead"))
                })
                .transpose()?;
            let messages = core
                .list_outbox(&OutboxFilter {
                    status,
                    limit: 1000,
                })
                .await?;
            if json {
                let rows: Vec<_> = messages
                    .iter()
                    .map(|m| {
                        serde_json::json!({
                            "id": m.id.to_string(), "to": m.to, "kind": m.kind, "status": m.status.as_str(),
                            "attempts": m.attempts, "next_attempt_at": m.next_attempt_at.to_rfc3339(),
                            "last_error": m.last_error, "created_at": m.created_at.to_rfc3339(),
                            "sent_at": m.sent_at.map(|t| t.to_rfc3339()),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<36}  {:<8}  {:>8}  {:<25}  TO",
                    "ID", "STATUS", "ATTEMPTS", "CREATED"
                );
                for m in messages {
                    println!(
                        "{:<36}  {:<8}  {:>8}  {:<25}  {}",
                        m.id,
                        m.status.as_str(),
                        m.attempts,
                        m.created_at.to_rfc3339(),
                        m.to
                    );
                }
            }
        }
        OutboxCommand::Retry { id } => {
            let id = MessageId::parse(&id).ok_or_else(|| anyhow!("{id:?} is not a message id"))?;
            core.retry_outbox(id).await?;
            println!("message {id} will be sent again");
        }
        OutboxCommand::Purge { older_than } => {
            let n = core.purge_outbox(older_than).await?;
            println!("{n} sent or dead messages deleted");
        }
    }
    Ok(())
}
