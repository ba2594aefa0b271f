//! Settings: defaults, then `portcullis.toml` (or `--config FILE`), then `PORTCULLIS_*`
//! environment variables (`__` between levels, `_FILE` variants for secrets), then flags.
//! Unknown keys are errors that name the key and where it came from.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use portcullis_core::password::HashingSettings;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Settings whose values are secrets: each may also come from `PORTCULLIS_<KEY>_FILE`.
/// (`PORTCULLIS_MASTER_KEY_FILE` is the `master_key_file` setting itself: the file is read,
/// or created on first start.)
const SECRET_KEYS: [&str; 2] = ["DATABASE_URL", "SMTP__URL"];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address of the HTTP listener.
    pub listen: String,
    /// `sqlite://PATH` (or a bare path) for the embedded store; `postgres://…` for PostgreSQL.
    pub database_url: String,
    /// PostgreSQL connection settings.
    pub database: DatabaseConfig,
    /// File holding the master key (created 0600 on first start). Default: `portcullis.key`
    /// beside the SQLite database, or in the working directory for other databases.
    pub master_key_file: Option<PathBuf>,
    /// The master key itself (32+ characters); wins over `master_key_file`.
    pub master_key: Option<String>,
    /// `iss` of tokens and base of the discovery document. Default: `http://<listen>`.
    pub issuer: Option<String>,
    /// `text` or `json` log lines, on standard error.
    pub log_format: LogFormat,
    /// Log filter (`info`, `portcullis=debug,info`); `RUST_LOG` wins when set.
    pub log_level: String,
    /// argon2id parameters and the bound on concurrent hashing.
    pub hashing: HashingSettings,
    pub http: HttpConfig,
    pub smtp: SmtpConfig,
    /// Delivery retries of the e-mail outbox.
    pub outbox: portcullis_core::outbox::OutboxSettings,
    pub metrics: MetricsConfig,
    pub keys: KeysConfig,
    pub audit: AuditConfig,
    pub sessions: SessionsConfig,
    pub dialects: DialectsConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://./portcullis.db".into(),
            database: DatabaseConfig::default(),
            master_key_file: None,
            master_key: None,
            issuer: None,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            hashing: HashingSettings::default(),
            http: HttpConfig::default(),
            smtp: SmtpConfig::default(),
            outbox: portcullis_core::outbox::OutboxSettings::default(),
            metrics: MetricsConfig::default(),
            keys: KeysConfig::default(),
            audit: AuditConfig::default(),
            sessions: SessionsConfig::default(),
            dialects: DialectsConfig::default(),
        }
    }
}

/// PostgreSQL connections (ignored for SQLite).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Connections per node.
    pub max_connections: u32,
    /// PostgreSQL cancels statements running longer.
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// A request waits this long for a connection, then gets 503 `unavailable`.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// `disable`, `prefer`, `require`, `verify-ca` or `verify-full`; empty keeps the URL's
    /// `sslmode` (PostgreSQL's default: `prefer`).
    pub tls_mode: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        let d = portcullis_store_postgres::PgSettings::default();
        Self {
            max_connections: d.max_connections,
            statement_timeout: d.statement_timeout,
            acquire_timeout: d.acquire_timeout,
            tls_mode: String::new(),
        }
    }
}

impl DatabaseConfig {
    pub fn to_pg(&self) -> portcullis_store_postgres::PgSettings {
        portcullis_store_postgres::PgSettings {
            max_connections: self.max_connections,
            statement_timeout: self.statement_timeout,
            acquire_timeout: self.acquire_timeout,
            ssl_mode: (!self.tls_mode.is_empty()).then(|| self.tls_mode.clone()),
            schema: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest request body, in bytes (413 above).
    pub body_limit: usize,
    /// A request taking longer is answered 503.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// The cookie forward-auth reads an access token from (beside the headers); empty: none.
    pub forward_auth_cookie: String,
    /// Which headers name the original request to forward-auth: `original`
    /// (X-Original-Method/URI, nginx) or `forwarded` (X-Forwarded-Method/Uri, Traefik, Caddy).
    pub forward_auth_headers: ForwardAuthHeaders,
    /// Reverse proxies (addresses, `10.0.0.5`, or networks, `10.0.0.0/8`) whose
    /// `X-Forwarded-For` is believed: the client's address, for limits and the audit trail,
    /// is then the last address in that header that is not itself a trusted proxy. Empty:
    /// the TCP peer.
    pub trusted_proxies: Vec<String>,
}

impl HttpConfig {
    /// `trusted_proxies` parsed: a bare address is a network of one, and an IPv4-mapped
    /// network (`::ffff:10.0.0.0/104`) the IPv4 network it maps, since peers and hops are
    /// compared in their canonical form. A network of every address is refused: it would let
    /// any client write the address that limits and the audit trail see.
    pub fn trusted_proxies(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                let net = p
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "invalid configuration: `http.trusted_proxies`: {p:?} is not an address or network like 10.0.0.0/8"
                        )
                    })?;
                let net = ipv4_mapped(net).unwrap_or(net);
                if net.prefix_len() == 0 {
                    anyhow::bail!(
                        "invalid configuration: `http.trusted_proxies`: {p:?} trusts every address, so any client could choose its own; list the proxies' addresses or networks"
                    );
                }
                Ok(net)
            })
            .collect()
    }
}

/// The IPv4 network an IPv4-mapped IPv6 network (`::ffff:0:0/96` and within) stands for.
fn ipv4_mapped(net: ipnet::IpNet) -> Option<ipnet::IpNet> {
    let ipnet::IpNet::V6(v6) = net else {
        return None;
    };
    let v4 = v6.addr().to_ipv4_mapped()?;
    let prefix = v6.prefix_len().checked_sub(96)?;
    ipnet::Ipv4Net::new(v4, prefix).ok().map(ipnet::IpNet::V4)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardAuthHeaders {
    Original,
    Forwarded,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            forward_auth_cookie: "portcullis_token".to_owned(),
            forward_auth_headers: ForwardAuthHeaders::Original,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Outgoing e-mail (password reset links).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS),
    /// `smtps://host:port` (TLS), with `user:password@` for authentication. Absent: e-mails
    /// are written as `.eml` files into `mail_dir`.
    pub url: Option<String>,
    pub from: String,
    pub mail_dir: PathBuf,
    /// Folder of templates overriding the built-in ones (see docs/configuration.md).
    pub templates_dir: Option<PathBuf>,
    /// Longest an SMTP exchange may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            url: None,
            from: "Portcullis <no-reply@localhost>".into(),
            mail_dir: PathBuf::from("./mail"),
            templates_dir: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// The audit trail.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Events older than this are deleted (every ten minutes). `0s` keeps them for ever.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(365 * 24 * 3600),
        }
    }
}

/// Ended sessions.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    /// A session, its refresh and opaque tokens are deleted this long after its absolute end,
    /// and a refresh token this long after it expires (every ten minutes). `0s` keeps them
    /// for ever.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Signing keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// A tenant's signing key is replaced when it is this old; the old key stays published
    /// until the tokens it signed have expired. `0s` turns scheduled rotation off.
    #[serde(with = "humantime_serde")]
    pub rotate_every: Duration,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            rotate_every: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Prometheus `/metrics` on its own listener (keep it private); absent = off.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub listen: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialectsConfig {
    pub djust: DialectConfig,
    pub jrni: DialectConfig,
    pub openloyalty: DialectConfig,
    pub jfw: DialectConfig,
}

/// One vendor dialect's routes. The dialects arrive in their own releases; their settings are
/// accepted now so a configuration written for them validates.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialectConfig {
    pub enabled: bool,
    /// Path prefix the dialect's routes are mounted under.
    pub prefix: String,
    /// Open Loyalty: the tenant whose stores `{storeCode}` selects.
    pub tenant: Option<String>,
    /// Open Loyalty: JWT lifetime (default 24 h). JFW: auth key lifetime (default 1 day).
    #[serde(default, with = "humantime_serde::option")]
    pub access_ttl: Option<Duration>,
    /// Open Loyalty: refresh-token lifetime, renewed at each refresh (default 30 days).
    /// JFW: refresh auth key lifetime (default 30 days).
    #[serde(default, with = "humantime_serde::option")]
    pub refresh_ttl: Option<Duration>,
    /// JFW: the client id of the app users log in through, where a tenant has several
    /// (default: its first app, by client id, that logs customers in by password).
    pub client_id: Option<String>,
}

impl Default for DialectConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            prefix: String::new(),
            tenant: None,
            access_ttl: None,
            refresh_ttl: None,
            client_id: None,
        }
    }
}

/// Flags that override every other source.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
}

/// Loads the settings. `config` is `--config FILE`; without it `./portcullis.toml` is read
/// if it exists. Also returns warnings to log once logging is up (unknown variables).
pub fn load(
    config: Option<&Path>,
    overrides: &Overrides,
) -> anyhow::Result<(Settings, Vec<String>)> {
    let mut fig = Figment::from(Serialized::defaults(Settings::default()));
    match config {
        Some(path) => {
            if !path.exists() {
                anyhow::bail!("configuration file {} does not exist", path.display());
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        None if Path::new("portcullis.toml").exists() => {
            fig = fig.merge(Toml::file_exact("portcullis.toml"))
        }
        None => {}
    }
    let known = known_env_keys();
    let mut warnings = Vec::new();
    for (name, _) in std::env::vars_os() {
        let Some(key) = name.to_str().and_then(|n| n.strip_prefix("PORTCULLIS_")) else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let is_secret_file = key
            .strip_suffix("_file")
            .is_some_and(|base| SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(base)));
        if !known.contains(&key) && !is_secret_file {
            warnings.push(format!(
                "ignoring unknown environment variable {}",
                name.to_string_lossy()
            ));
        }
    }
    fig = fig.merge(env_provider(known));
    for key in SECRET_KEYS {
        let var = format!("PORTCULLIS_{key}_FILE");
        if let Some(path) = std::env::var_os(&var) {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                anyhow::anyhow!("{var}: cannot read {}: {e}", PathBuf::from(&path).display())
            })?;
            let key_path = key.to_ascii_lowercase().replace("__", ".");
            fig = fig.merge(Serialized::default(&key_path, text.trim().to_owned()));
        }
    }
    if let Some(listen) = &overrides.listen {
        fig = fig.merge(Serialized::default("listen", listen));
    }
    if let Some(url) = &overrides.database_url {
        fig = fig.merge(Serialized::default("database_url", url));
    }
    let settings: Settings = fig.extract().map_err(explain)?;
    settings.validate()?;
    Ok((settings, warnings))
}

/// `portcullis config check FILE`: the file alone, over the defaults.
pub fn check_file(path: &Path) -> anyhow::Result<Settings> {
    if !path.exists() {
        anyhow::bail!("configuration file {} does not exist", path.display());
    }
    let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
        .merge(Toml::file_exact(path))
        .extract()
        .map_err(explain)?;
    settings.validate()?;
    Ok(settings)
}

/// Variables for known settings only: an unknown `PORTCULLIS_*` variable is warned about, not
/// fatal, since the environment is shared with other software (files are strict).
/// `_FILE` variants are read separately (see SECRET_KEYS).
fn env_provider(known: Vec<String>) -> Env {
    Env::prefixed("PORTCULLIS_")
        .filter(move |k| known.iter().any(|n| k.as_str().eq_ignore_ascii_case(n)))
        .split("__")
}

/// Every settings key, as an environment variable would spell it after `PORTCULLIS_`
/// (lower-cased, `__` between levels).
fn known_env_keys() -> Vec<String> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}__{k}")
                    };
                    walk(&path, child, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(Settings::default()) {
        walk("", &v, &mut out);
    }
    out
}

/// One message per problem, naming the key and the file or variable it came from.
fn explain(err: figment::Error) -> anyhow::Error {
    let lines: Vec<String> = err
        .into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                String::new()
            } else {
                format!("`{}`: ", e.path.join("."))
            };
            let source = e
                .metadata
                .as_ref()
                .map(|m| match &m.source {
                    Some(src) => format!(" (in {src})"),
                    None => format!(" (from {})", m.name),
                })
                .unwrap_or_default();
            format!("{key}{}{source}", e.kind)
        })
        .collect();
    anyhow::anyhow!("invalid configuration: {}", lines.join("; "))
}

impl Settings {
    fn validate(&self) -> anyhow::Result<()> {
        self.listen.parse::<std::net::SocketAddr>().map_err(|_| {
            anyhow::anyhow!(
                "invalid configuration: `listen`: {:?} is not an address like 127.0.0.1:8080",
                self.listen
            )
        })?;
        if !is_sqlite_url(&self.database_url) && !is_postgres_url(&self.database_url) {
            anyhow::bail!(
                "invalid configuration: `database_url`: expected sqlite://PATH, a file path or postgres://…"
            );
        }
        if self.database.max_connections == 0 {
            anyhow::bail!("invalid configuration: `database.max_connections` must be at least 1");
        }
        const TLS_MODES: [&str; 6] = [
            "",
            "disable",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ];
        if !TLS_MODES.contains(&self.database.tls_mode.as_str()) {
            anyhow::bail!(
                "invalid configuration: `database.tls_mode`: {:?} is not one of disable, prefer, require, verify-ca, verify-full",
                self.database.tls_mode
            );
        }
        if let Some(key) = &self.master_key
            && key.chars().count() < 32
        {
            anyhow::bail!("invalid configuration: `master_key` must be at least 32 characters");
        }
        portcullis_mail::parse_from(&self.smtp.from)
            .map_err(|e| anyhow::anyhow!("invalid configuration: `smtp.from`: {e}"))?;
        if let Some(url) = &self.smtp.url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            anyhow::bail!("invalid configuration: `smtp.url` must start with smtp:// or smtps://");
        }
        if self.outbox.max_attempts == 0 {
            anyhow::bail!("invalid configuration: `outbox.max_attempts` must be at least 1");
        }
        self.http.trusted_proxies()?;
        if let Some(at) = &self.metrics.listen {
            at.parse::<std::net::SocketAddr>().map_err(|_| {
                anyhow::anyhow!(
                    "invalid configuration: `metrics.listen`: {at:?} is not an address like 127.0.0.1:9090"
                )
            })?;
        }
        // Each hashing slot is a thread that keeps m_cost of memory for good.
        if self.hashing.max_concurrent > 64 {
            anyhow::bail!(
                "invalid configuration: `hashing.max_concurrent` must be at most 64 (each slot holds `hashing.memory_kib` of memory)"
            );
        }
        if self.http.body_limit < 1024 {
            anyhow::bail!("invalid configuration: `http.body_limit` must be at least 1024 bytes");
        }
        if let Some(issuer) = &self.issuer
            && !(issuer.starts_with("https://") || issuer.starts_with("http://"))
        {
            anyhow::bail!("invalid configuration: `issuer` must be an http(s) URL");
        }
        Ok(())
    }

    /// The Open Loyalty dialect's binding and lifetimes, defaults filled in.
    pub fn openloyalty(&self) -> portcullis_dialect_openloyalty::OlSettings {
        let ol = &self.dialects.openloyalty;
        let defaults = portcullis_dialect_openloyalty::OlSettings::default();
        portcullis_dialect_openloyalty::OlSettings {
            tenant: ol.tenant.clone(),
            access_ttl: ol.access_ttl.unwrap_or(defaults.access_ttl),
            refresh_ttl: ol.refresh_ttl.unwrap_or(defaults.refresh_ttl),
        }
    }

    /// The JFW dialect's settings, defaults filled in.
    pub fn jfw(&self) -> portcullis_dialect_jfw::JfwSettings {
        let jfw = &self.dialects.jfw;
        let defaults = portcullis_dialect_jfw::JfwSettings::default();
        portcullis_dialect_jfw::JfwSettings {
            client_id: jfw.client_id.clone(),
            auth_key_ttl: jfw.access_ttl.unwrap_or(defaults.auth_key_ttl),
            refresh_ttl: jfw.refresh_ttl.unwrap_or(defaults.refresh_ttl),
        }
    }

    /// Where the master key file is, given the settings.
    pub fn master_key_path(&self) -> PathBuf {
        if let Some(p) = &self.master_key_file {
            return p.clone();
        }
        match sqlite_path(&self.database_url) {
            Some(db) => db
                .parent()
                .map(|d| d.join("portcullis.key"))
                .unwrap_or_else(|| PathBuf::from("portcullis.key")),
            None => PathBuf::from("portcullis.key"),
        }
    }
}

pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn is_sqlite_url(url: &str) -> bool {
    url.starts_with("sqlite:") || !url.contains("://")
}

/// The file behind a SQLite URL or path.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    if !is_sqlite_url(url) {
        return None;
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let rest = rest.split('?').next().unwrap_or(rest);
    Some(PathBuf::from(if rest.is_empty() {
        "portcullis.db"
    } else {
        rest
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let dir = std::env::temp_dir().join(format!("portcullis-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bad.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1\"\n[hashing]\nmemory_kb = 10\n",
        )
        .unwrap();
        let err = check_file(&file).unwrap_err().to_string();
        assert!(err.contains("memory_kb"), "{err}");
        std::fs::write(&file, "listen = \"nowhere\"\n").unwrap();
        let err = check_file(&file).unwrap_err().to_string();
        assert!(err.contains("listen"), "{err}");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\n[dialects.openloyalty]\ntenant = \"acme\"\n",
        )
        .unwrap();
        let ok = check_file(&file).unwrap();
        assert_eq!(ok.listen, "0.0.0.0:9000");
        assert_eq!(ok.dialects.openloyalty.tenant.as_deref(), Some("acme"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ipv4_mapped_proxies_match_the_canonical_peers() {
        let http = HttpConfig {
            trusted_proxies: [
                "::ffff:10.0.0.0/104",
                "::ffff:192.0.2.7",
                "fd00::/8",
                "10.1.0.0/16",
            ]
            .map(String::from)
            .to_vec(),
            ..HttpConfig::default()
        };
        let nets: Vec<String> = http
            .trusted_proxies()
            .unwrap()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            nets,
            ["10.0.0.0/8", "192.0.2.7/32", "fd00::/8", "10.1.0.0/16"]
        );
        let trusted = http.trusted_proxies().unwrap();
        // A dual-stack listener's IPv4 proxy, canonicalised by client_ip, is trusted.
        let headers = axum::http::HeaderMap::from_iter([(
            axum::http::header::HeaderName::from_static("x-forwarded-for"),
            axum::http::HeaderValue::from_static("198.51.100.9"),
        )]);
        let peer: std::net::IpAddr = "::ffff:10.2.3.4".parse().unwrap();
        assert_eq!(
            crate::client_ip::client_ip(peer, &headers, &trusted).to_string(),
            "198.51.100.9"
        );
    }

    #[test]
    fn every_setting_has_an_environment_variable() {
        let keys = known_env_keys();
        for k in [
            "listen",
            "database_url",
            "master_key",
            "smtp__url",
            "dialects__openloyalty__tenant",
            "hashing__memory_kib",
        ] {
            assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
        }
    }

    #[test]
    fn master_key_sits_beside_the_database() {
        let s = Settings {
            database_url: "sqlite:///var/lib/portcullis/p.db".into(),
            ..Default::default()
        };
        assert_eq!(
            s.master_key_path(),
            PathBuf::from("/var/lib/portcullis/portcullis.key")
        );
        let s = Settings {
            database_url: "data/p.db".into(),
            ..Default::default()
        };
        assert_eq!(s.master_key_path(), PathBuf::from("data/portcullis.key"));
    }
}
