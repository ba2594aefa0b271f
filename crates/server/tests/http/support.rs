//! A running server in a temporary directory, and helpers to talk to it.

use reqwest::{Client, Response};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const MASTER_KEY: &str = "integration-test-master-key-0123456789";
pub const API_KEY: &str = "acme-web-api-key-0001";
pub const SERVICE_KEY: &str = "acme-batch-api-key-0001";
pub const PASSWORD: &str = "Str0ng!Passw0rd";

/// The provisioning file most tests start from. The retry window is short so the tests can
/// step past it.
pub const ACME: &str = r#"
version = 1

[[tenants]]
slug = "acme"
name = "ACME Commerce"
brand_urls = ["acme.example.com"]

[tenants.tokens]
refresh_retry_window = "1s"

[tenants.passwords]
reset_mails_per_minute = 2

[[tenants.stores]]
code = "DEFAULT"
company_id = 1
name = "Main store"
default = true
views = ["en", "fr"]

[[tenants.stores]]
code = "OUTLET"
name = "Outlet"

[[tenants.apps]]
client_id = "acme-web"
api_key = "acme-web-api-key-0001"
kinds = ["customer", "operator"]
grants = ["password", "refresh_token"]
redirect_hosts = ["shop.example.com"]

[[tenants.apps]]
client_id = "acme-batch"
api_key = "acme-batch-api-key-0001"
kinds = ["customer"]
grants = ["client_credentials"]

[[tenants.profiles]]
name = "buyer"
rules = [{ route = "/v1/orders/**", right = "read" }]

[[tenants.users]]
kind = "customer"
email = "alice@example.com"
username = "alice"
password = "Str0ng!Passw0rd"
phone = "+33100000000"
profiles = ["buyer"]

[[tenants.users]]
kind = "operator"
email = "oscar@example.com"
password = "Str0ng!Passw0rd"
"#;

pub struct Server {
    pub base: String,
    pub http: Client,
    pub dir: tempfile::TempDir,
    pub setup: Setup,
    /// The PostgreSQL database of this test, dropped with the server.
    database: Option<Arc<TestDatabase>>,
    child: Option<Child>,
    logs: Arc<Mutex<Vec<String>>>,
    /// The task reading the server's log; it ends when the process closes its stderr.
    drain: Option<tokio::task::JoinHandle<()>>,
}

/// How the server and the command line are run.
#[derive(Clone)]
pub struct Setup {
    /// Pass the master key in `PORTCULLIS_MASTER_KEY`; otherwise the key file is used.
    pub master_key_env: bool,
    /// Extra environment variables.
    pub env: Vec<(&'static str, String)>,
    /// Address to listen on; port 0 by default.
    pub listen: Option<String>,
    /// The database; `None` is a SQLite file in the test's directory.
    pub database_url: Option<String>,
    /// More arguments for `serve`.
    pub serve_args: Vec<&'static str>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            master_key_env: true,
            env: Vec::new(),
            listen: None,
            database_url: None,
            serve_args: Vec::new(),
        }
    }
}

impl Server {
    /// A fresh directory with `provisioning` imported through the command line, and the
    /// server started on it.
    pub async fn with(provisioning: &str) -> Server {
        Server::with_setup(provisioning, Setup::default()).await
    }

    pub async fn with_setup(provisioning: &str, mut setup: Setup) -> Server {
        let database = match backend() {
            Backend::Postgres => Some(Arc::new(TestDatabase::create())),
            Backend::Sqlite => None,
        };
        if let Some(db) = &database {
            setup.database_url = Some(db.url.clone());
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("provisioning.toml");
        std::fs::write(&file, provisioning).unwrap();
        let out = run_cli(
            dir.path(),
            &setup,
            &["import", file.to_str().unwrap()],
            None,
        )
        .await;
        assert!(out.ok, "import failed: {}", out.stderr);
        let mut server = Server::start_in(dir, setup).await;
        server.database = database;
        server
    }

    pub async fn start_in(dir: tempfile::TempDir, setup: Setup) -> Server {
        let mut child = command(dir.path(), &setup)
            .args([
                "serve",
                "--listen",
                setup.listen.as_deref().unwrap_or("127.0.0.1:0"),
            ])
            .args(&setup.serve_args)
            .env("PORTCULLIS_LOG_FORMAT", "json")
            .env("PORTCULLIS_LOG_LEVEL", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                logs.lock().unwrap().push(line.clone());
                let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                if let Some(addr) = v["fields"]["addr"].as_str() {
                    return addr.to_owned();
                }
            }
            panic!(
                "the server exited before it was ready: {:?}",
                logs.lock().unwrap()
            );
        })
        .await
        .expect("the server did not become ready");
        // Keep draining the log so the server never blocks on a full pipe.
        let sink = logs.clone();
        let drain = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        Server {
            base: format!("http://{addr}"),
            http: Client::new(),
            dir,
            setup,
            database: None,
            child: Some(child),
            drain: Some(drain),
            logs,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn db_url(&self) -> String {
        self.setup
            .database_url
            .clone()
            .unwrap_or_else(|| db_url(self.dir.path()))
    }

    /// The server's store, opened directly (to look at what the API does not show).
    pub async fn open_store(&self) -> Arc<dyn portcullis_core::Store> {
        let url = self.db_url();
        if url.starts_with("postgres") {
            let settings = portcullis_store_postgres::PgSettings {
                max_connections: 2,
                ..Default::default()
            };
            Arc::new(
                portcullis_store_postgres::PgStore::open(&url, &settings)
                    .await
                    .unwrap(),
            )
        } else {
            Arc::new(
                portcullis_store_sqlite::SqliteStore::open(&url)
                    .await
                    .unwrap(),
            )
        }
    }

    pub async fn cli(&self, args: &[&str]) -> CliOutput {
        run_cli(self.dir.path(), &self.setup, args, None).await
    }

    pub async fn cli_stdin(&self, args: &[&str], stdin: &str) -> CliOutput {
        run_cli(self.dir.path(), &self.setup, args, Some(stdin)).await
    }

    /// Stops the server (SIGTERM) and starts a new one on the same directory.
    pub async fn restart(mut self) -> Server {
        assert!(self.terminate().await, "clean stop");
        // Same address, so the issuer, and with it the old tokens, stay valid.
        let listen = self.base.trim_start_matches("http://").to_owned();
        let Server {
            dir,
            mut setup,
            database,
            ..
        } = self;
        setup.listen = Some(listen);
        let mut server = Server::start_in(dir, setup).await;
        server.database = database;
        server
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// POST a form to `path` with the web app's credentials in HTTP Basic.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .basic_auth("acme-web", Some(API_KEY))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// POST a form to the token endpoint, with the given client in HTTP Basic (or none).
    pub async fn token_as(&self, client: Option<(&str, &str)>, form: &[(&str, &str)]) -> Response {
        let mut request = self.http.post(self.url("/oauth2/token")).form(form);
        if let Some((id, key)) = client {
            request = request.basic_auth(id, Some(key));
        }
        request.send().await.unwrap()
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post_form(
            "/oauth2/token",
            &[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// Logs an operator in through the native API and returns the access token.
    pub async fn operator_token(&self, email: &str) -> String {
        let resp = self
            .post_form(
                "/oauth2/token",
                &[
                    ("grant_type", "password"),
                    ("username", email),
                    ("password", PASSWORD),
                    ("kind", "operator"),
                ],
            )
            .await;
        assert_eq!(resp.status(), 200, "operator login of {email}");
        let body: Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Logs Alice in through JRNI (`App-Id: acme-web`) and returns her `Auth-Token`.
    pub async fn jrni_token(&self) -> String {
        self.jrni_login().await.0
    }

    /// As `jrni_token`, with the login resource (her member record in `_embedded`).
    pub async fn jrni_login(&self) -> (String, Value) {
        let resp = self
            .http
            .post(self.url("/api/v5/login"))
            .header("App-Id", "acme-web")
            .json(&serde_json::json!({"email": "alice@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let token = resp.headers()["auth-token"].to_str().unwrap().to_owned();
        (token, resp.json().await.unwrap())
    }

    /// Signs Alice in through JFW (brand `acme.example.com`) and returns the answer's `data`.
    pub async fn jfw_sign_in(&self) -> Value {
        let resp = self
            .http
            .post(self.url("/api/v1/users/auth"))
            .header("Brand-URL", "acme.example.com")
            .json(&serde_json::json!({"username": "alice", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        body["data"].clone()
    }

    /// Logs Alice in and returns the token response.
    pub async fn login_alice(&self) -> Value {
        let resp = self.login("alice@example.com", PASSWORD).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    pub async fn refresh(&self, token: &str) -> Response {
        self.post_form(
            "/oauth2/token",
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
    }

    pub async fn introspect(&self, token: &str) -> Value {
        let resp = self
            .post_form("/oauth2/introspect", &[("token", token)])
            .await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    pub async fn get_json_as<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let resp = self.http.get(self.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self.http.get(self.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.unwrap()
    }

    /// How many sessions a tenant has, revoked and expired included.
    pub async fn sessions_of(&self, tenant: &str) -> usize {
        let out = self
            .cli(&["session", "list", "--tenant", tenant, "--all", "--json"])
            .await;
        assert!(out.ok, "{}", out.stderr);
        serde_json::from_str::<Vec<Value>>(&out.stdout)
            .unwrap()
            .len()
    }

    /// Sessions of the tenant, revoked and expired included, as the CLI lists them.
    pub async fn sessions(&self) -> Vec<Value> {
        let out = self
            .cli(&["session", "list", "--tenant", "acme", "--all", "--json"])
            .await;
        assert!(out.ok, "{}", out.stderr);
        serde_json::from_str(&out.stdout).unwrap()
    }

    /// Kills the server at once (SIGKILL), as a crash would, and starts a new one on the same
    /// directory, database and address.
    pub async fn crash_and_restart(mut self) -> Server {
        let mut child = self.child.take().unwrap();
        child.kill().await.unwrap();
        let listen = self.base.trim_start_matches("http://").to_owned();
        let Server {
            dir,
            mut setup,
            database,
            ..
        } = self;
        setup.listen = Some(listen);
        let mut server = Server::start_in(dir, setup).await;
        server.database = database;
        server
    }

    /// POST a JSON body with the web app's credentials in HTTP Basic.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .basic_auth("acme-web", Some(API_KEY))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Stops the server with SIGTERM and returns whether it exited cleanly.
    pub async fn terminate(&mut self) -> bool {
        let mut child = self.child.take().unwrap();
        let pid = child.id().unwrap().to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
            .await
            .unwrap()
            .unwrap();
        // Read the log to its end, so its last lines are there for the caller.
        if let Some(drain) = self.drain.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
        }
        status.success()
    }
}

pub fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("portcullis.db").display())
}

fn command(dir: &Path, setup: &Setup) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(
            "PORTCULLIS_DATABASE_URL",
            setup.database_url.clone().unwrap_or_else(|| db_url(dir)),
        );
    if setup.master_key_env {
        cmd.env("PORTCULLIS_MASTER_KEY", MASTER_KEY);
    }
    for (k, v) in &setup.env {
        cmd.env(k, v);
    }
    cmd
}

pub struct CliOutput {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

pub async fn cli_in(dir: &Path, args: &[&str]) -> CliOutput {
    run_cli(dir, &Setup::default(), args, None).await
}

pub async fn run_cli_with(dir: &Path, setup: &Setup, args: &[&str]) -> CliOutput {
    run_cli(dir, setup, args, None).await
}

async fn run_cli(dir: &Path, setup: &Setup, args: &[&str], stdin: Option<&str>) -> CliOutput {
    use tokio::io::AsyncWriteExt;
    let mut child = command(dir, setup)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).await.unwrap();
        drop(pipe);
    }
    let out = child.wait_with_output().await.unwrap();
    CliOutput {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts the native error shape and returns the body.
pub async fn expect_error(resp: Response, status: u16, error: &str, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

/// Polls `check` until it holds or a few seconds have passed (for changes made by another
/// process, which reach the server through the change feed).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..50 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 5 s");
}

pub fn path_of(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Records created or updated, read from an import report line
/// (`apps: 0 created, 1 updated, 2 unchanged; …`).
pub fn import_changes(report: &str) -> usize {
    let words: Vec<&str> = report.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[1].starts_with("created") || w[1].starts_with("updated"))
        .filter_map(|w| w[0].parse::<usize>().ok())
        .sum()
}

/// Which store the server under test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    pub static BACKEND: Backend;
}

fn backend() -> Backend {
    BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite)
}

/// The PostgreSQL server the tests may use, from `PORTCULLIS_TEST_POSTGRES_URL`.
pub fn postgres_url() -> Option<String> {
    std::env::var("PORTCULLIS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A database of its own for one test, created with `psql` and dropped (even while
/// servers still hold connections) when the test ends.
pub struct TestDatabase {
    pub url: String,
    name: String,
    admin: String,
}

impl TestDatabase {
    pub fn create() -> TestDatabase {
        let admin = postgres_url().expect("PORTCULLIS_TEST_POSTGRES_URL");
        let name = format!("portcullis_test_{}", uuid_like());
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .unwrap_or(admin.clone());
        TestDatabase {
            url: format!("{base}/{name}"),
            name,
            admin,
        }
    }
}

impl TestDatabase {
    /// Drops the database now, closing the connections servers hold to it.
    pub fn drop_now(&self) {
        psql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        self.drop_now();
    }
}

fn psql(url: &str, sql: &str) {
    let out = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Turns `async fn`s into two tests each: one on SQLite, one on PostgreSQL (skipped, loudly,
/// without `PORTCULLIS_TEST_POSTGRES_URL`).
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::support::BACKEND.scope($crate::support::Backend::Sqlite, super::$name()).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if $crate::support::postgres_url().is_none() {
                        eprintln!("SKIPPED on PostgreSQL: set PORTCULLIS_TEST_POSTGRES_URL");
                        return;
                    }
                    $crate::support::BACKEND.scope($crate::support::Backend::Postgres, super::$name()).await
                }
            )*
        }
    };
}
