//! `serve --demo`: a demo tenant with a store, an app and one user of each kind, and how to
//! log in with curl. The credentials are public: never use `--demo` on a reachable address.

use portcullis_core::Core;
use portcullis_core::provisioning::ProvisioningDoc;
use std::net::SocketAddr;

pub const CLIENT_ID: &str = "demo-shop";
pub const API_KEY: &str = "demo-shop-api-key-0001";
pub const PASSWORD: &str = "Demo-Passw0rd!";

const DOC: &str = r#"
version = 1

[[tenants]]
slug = "demo"
name = "Demo Commerce"
brand_urls = ["demo.localhost"]
signing_alg = "RS256"   # Open Loyalty clients expect RS256; every other API accepts it too

[[tenants.stores]]
code = "DEFAULT"
company_id = 1
name = "Demo store"
default = true
views = ["en", "fr"]

[[tenants.apps]]
client_id = "demo-shop"
name = "Demo shop"
api_key = "demo-shop-api-key-0001"
kinds = ["customer", "operator", "supplier", "guest"]
grants = ["password", "refresh_token", "client_credentials"]
redirect_hosts = ["localhost"]

[[tenants.profiles]]
name = "buyer"
rules = [{ route = "/v1/orders/**", right = "read" }, { route = "/v1/cart/**", right = "read-write" }]

[[tenants.profiles]]
name = "admin"
rules = [{ route = "/**", right = "read-write" }]

[[tenants.users]]
kind = "customer"
email = "alice@demo.localhost"
username = "alice"
password = "Demo-Passw0rd!"
profiles = ["buyer"]

[[tenants.users]]
kind = "operator"
email = "oscar@demo.localhost"
password = "Demo-Passw0rd!"
profiles = ["admin"]

[[tenants.users]]
kind = "supplier"
email = "sam@demo.localhost"
password = "Demo-Passw0rd!"

[[tenants.users]]
kind = "guest"
email = "gus@demo.localhost"
password = "Demo-Passw0rd!"
"#;

pub async fn install(core: &Core, addr: SocketAddr) -> anyhow::Result<()> {
    let doc: ProvisioningDoc = toml::from_str(DOC)?;
    let report = core.import(&doc).await?;
    tracing::warn!("demo mode: tenant `demo` with public credentials ({report})");
    println!(
        "Demo tenant ready. Log in as a customer:\n\n  curl -s -u {CLIENT_ID}:{API_KEY} http://{addr}/oauth2/token \\\n    -d grant_type=password -d username=alice@demo.localhost -d password='{PASSWORD}'\n\n\
         Operators, suppliers and guests: add -d kind=operator (oscar@), kind=supplier (sam@), kind=guest (gus@).\n"
    );
    Ok(())
}
