//! Limits on password logins: attempts per client IP, and attempts per account and per
//! (account, client IP) since the account's last successful login. Counted in the store, so every node sees the same numbers; an attempt is
//! counted before its password is checked, so concurrent guesses cannot slip past the limit.

use crate::clock::Timestamp;
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginLimits {
    /// Length of a counting window; a locked account opens again when its window ends.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Password logins per client IP and window.
    pub per_ip: u32,
    /// Password logins per account (kind and login name) and window, without a success in
    /// between. Counted whether or not the account exists, so the answer tells nothing.
    pub per_account: u32,
    /// Password logins per account from one client IP and window, without a success in
    /// between: stops one client guessing before the account locks for everyone.
    pub per_account_ip: u32,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            per_ip: 1000,
            per_account: 10,
            per_account_ip: 5,
        }
    }
}

impl LoginLimits {
    /// Start of the window `now` falls in.
    pub fn window_start(&self, now: Timestamp) -> Timestamp {
        let len = i64::try_from(self.window.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        Timestamp(now.0 - now.0.rem_euclid(len))
    }

    /// How long until the window of `now` ends.
    pub fn retry_after(&self, now: Timestamp) -> Duration {
        self.window_start(now)
            .plus(self.window)
            .since(now)
            .max(Duration::from_secs(1))
    }
}

/// The counter key of a limited thing, hashed so the store holds no IPs or logins.
pub fn counter_key(parts: &[&str]) -> SecretHash {
    SecretHash::of(&parts.join("\u{1f}"))
}

/// The NAT64 well-known prefix (RFC 6052): `64:ff9b::/96` carries an IPv4 address in its
/// last 32 bits.
const NAT64_PREFIX: u128 = 0x0064_ff9b_0000_0000_0000_0000_0000_0000;

/// The source a per-address limit counts: an IPv4 address, or the /64 network of an IPv6
/// one (one host usually holds a whole /64, so counting single IPv6 addresses would let it
/// rotate past any limit). An address of the NAT64 well-known prefix is the IPv4 client
/// behind the translator (by its /64, every IPv4 client of a NAT64 gateway would share one
/// count). Text that is not an address is counted as it is.
pub fn limit_source(ip: &str) -> String {
    match ip
        .trim()
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.to_canonical())
    {
        Ok(std::net::IpAddr::V6(v6)) if u128::from(v6) >> 32 == NAT64_PREFIX >> 32 => {
            std::net::Ipv4Addr::from(u128::from(v6) as u32).to_string()
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let net = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(net))
        }
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_counted_by_their_64_network() {
        assert_eq!(limit_source("203.0.113.7"), "203.0.113.7");
        assert_eq!(limit_source("::ffff:203.0.113.7"), "203.0.113.7");
        // Behind NAT64, each IPv4 client is its own source, as it would be without it.
        assert_eq!(limit_source("64:ff9b::203.0.113.7"), "203.0.113.7");
        assert_eq!(limit_source("64:ff9b::cb00:7108"), "203.0.113.8");
        assert_ne!(
            limit_source("64:ff9b::203.0.113.7"),
            limit_source("64:ff9b::203.0.113.8")
        );
        // Only the well-known /96: a neighbouring prefix is an ordinary IPv6 network.
        assert_eq!(limit_source("64:ff9b:0:0:1::7"), "64:ff9b::/64");
        assert_eq!(limit_source("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            limit_source("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            limit_source("2001:db8:1:2::9")
        );
        assert_ne!(
            limit_source("2001:db8:1:3::1"),
            limit_source("2001:db8:1:2::1")
        );
        assert_eq!(limit_source("not an address"), "not an address");
    }

    #[test]
    fn windows_are_aligned_and_retry_after_reaches_the_end() {
        let l = LoginLimits {
            window: Duration::from_secs(60),
            ..Default::default()
        };
        let t = Timestamp(1_000_000_123_456);
        assert_eq!(l.window_start(t).0 % 60_000, 0);
        assert!(l.window_start(t) <= t && t < l.window_start(t).plus(l.window));
        assert_eq!(
            l.retry_after(Timestamp(60_000 * 10 + 59_500)),
            Duration::from_secs(1),
            "at least a second"
        );
        assert_eq!(
            l.retry_after(Timestamp(60_000 * 10)),
            Duration::from_secs(60)
        );
    }
}
