//! Login timing says nothing about whether an account exists: the median time of a login
//! for an unknown account is within 10% of one for a known account with a wrong password
//! (both pay one argon2id verification). Runs alone (see .config/nextest.toml).

use crate::support::*;
use std::time::{Duration, Instant};

const ROUNDS: usize = 31;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_timing_does_not_tell_whether_an_account_exists() {
    let file = format!(
        "{ACME}\n[tenants.limits]\nper_ip = 100000\nper_account = 100000\nper_account_ip = 100000\n"
    );
    let server = Server::with(&file).await;
    // Warm up connections, caches and the hashing pool.
    for _ in 0..3 {
        server.login("alice@example.com", "Wr0ng-Passw0rd!").await;
        server.login("nobody@example.com", "Wr0ng-Passw0rd!").await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    // Interleaved, so drifts in the machine's load fall on both sides alike.
    for i in 0..ROUNDS {
        for (login, into) in [
            ("alice@example.com", &mut known),
            (&*format!("nobody-{i}@example.com"), &mut unknown),
        ] {
            let started = Instant::now();
            let resp = server.login(login, "Wr0ng-Passw0rd!").await;
            into.push(started.elapsed());
            assert_eq!(resp.status(), 400);
        }
    }
    let (k, u) = (median(known), median(unknown));
    let ratio = u.as_secs_f64() / k.as_secs_f64();
    println!("median login: known account {k:?}, unknown account {u:?}, ratio {ratio:.3}");
    assert!(
        (0.9..=1.1).contains(&ratio),
        "unknown {u:?} vs known {k:?}: ratio {ratio:.3} is outside 10%"
    );
}
