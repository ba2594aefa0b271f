//! The command line (see `../shared/spec/interface.md` and docs/configuration.md).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "portcullis",
    version,
    about = "Multi-tenant authentication server"
)]
pub struct Cli {
    /// Settings file (default: ./portcullis.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default sqlite://./portcullis.db).
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free port).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Also import a demo tenant and print how to log in.
        #[arg(long)]
        demo: bool,
    },
    /// Create or update tenants, stores, apps, profiles and users from a TOML or JSON file.
    Import {
        file: PathBuf,
        /// Check the file and show what would change, without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the provisioning file of everything in the store, without secrets.
    Export {
        #[arg(long, value_enum, default_value_t = Format::Toml)]
        format: Format,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// List and revoke sessions.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// See and change profiles (per-route rights).
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Show the audit trail, newest first.
    Audit(AuditArgs),
    /// See and act on queued e-mails.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Validate settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Copy everything from one store into another, empty one, and check the counts.
    MigrateStore {
        /// Source database URL.
        #[arg(long, value_name = "URL")]
        from: String,
        /// Target database URL; it must hold no tenant yet.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Toml,
    Json,
}

#[derive(Args, Debug)]
pub struct UserRef {
    /// Tenant slug.
    #[arg(long)]
    pub tenant: String,
    /// customer, operator, supplier or guest.
    #[arg(long, default_value = "customer")]
    pub kind: String,
    /// E-mail or username.
    #[arg(long)]
    pub login: String,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. The password, if any, is read from standard input.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "customer")]
        kind: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        /// Store code (default: the tenant's default store).
        #[arg(long)]
        store: Option<String>,
        /// Profile names; repeat for several.
        #[arg(long = "profile")]
        profiles: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (read from standard input) and end their sessions.
    Passwd {
        #[command(flatten)]
        user: UserRef,
    },
    /// Disable a user and end their sessions.
    Disable {
        #[command(flatten)]
        user: UserRef,
    },
    /// Show a user's profiles (own and their kind's defaults); with --set, replace their own.
    Profiles {
        #[command(flatten)]
        user: UserRef,
        /// Comma-separated profile names; an empty value removes them all.
        #[arg(long, value_name = "NAMES")]
        set: Option<String>,
    },
    /// End a login lockout (too many attempts) before its window ends.
    Unlock {
        #[command(flatten)]
        user: UserRef,
        /// Also end the throttle on this account from this client IP (the per-account-and-IP
        /// limit); without it, that one ends with its window.
        #[arg(long)]
        ip: Option<String>,
    },
    /// Enable a disabled or locked user.
    Enable {
        #[command(flatten)]
        user: UserRef,
    },
    /// List a tenant's users.
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum SessionCommand {
    /// List live sessions.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// Only this user's sessions (with --tenant and --kind).
        #[arg(long)]
        login: Option<String>,
        #[arg(long, default_value = "customer")]
        kind: String,
        /// Include revoked and expired sessions.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a session: its tokens are refused from the next change-feed read (≤ 1 s).
    Revoke { session_id: String },
    /// Delete the sessions that ended (absolutely) longer than `sessions.retention` ago, with
    /// their tokens, as every node's housekeeping does every ten minutes.
    Purge,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Give a tenant a new signing key; the old one verifies until its tokens expire.
    Rotate {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// List a tenant's profiles and their rules.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Create or replace a profile.
    Set {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// A rule, `[METHODS ]ROUTE=RIGHT`: `/v1/orders/**=read`, `POST,PUT /v1/cart/**=read-write`.
        /// Repeat for several; none makes a profile that grants nothing.
        #[arg(long = "rule", value_name = "RULE")]
        rules: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Validate a settings file; names the first bad key.
    Check { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum OutboxCommand {
    /// List messages, newest first.
    List {
        /// pending, sent or dead.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Make a dead or pending message due now, with a fresh count of attempts.
    Retry { id: String },
    /// Delete sent and dead messages older than the given age.
    Purge {
        #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
        older_than: std::time::Duration,
    },
}

/// Filters of `portcullis audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only this tenant's events.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only this user's events (e-mail or username; needs --tenant).
    #[arg(long, value_name = "LOGIN")]
    pub user: Option<String>,
    /// Only events of users of this kind (operator, customer, supplier, guest).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only this action (`login.failed`) or family of actions (`login`).
    #[arg(long)]
    pub action: Option<String>,
    /// Only events at or after this time: RFC 3339 (`2026-11-23T10:00:00Z`) or an age
    /// (`2h`, `7d`).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only events before this time (RFC 3339 or an age, as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only events listed after this one (the `id` of `--json` output): the next page.
    #[arg(long, value_name = "EVENT_ID")]
    pub before: Option<String>,
    /// At most this many events.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// One JSON object a line.
    #[arg(long)]
    pub json: bool,
}
