//! The client's address behind trusted reverse proxies. Limits and the audit trail read the
//! address from axum's `ConnectInfo`; when the TCP peer is a trusted proxy, this layer puts
//! the client's address there instead, taken from `X-Forwarded-For`.
//!
//! Only the right end of `X-Forwarded-For` is believed: each trusted proxy appends the
//! address it received the request from, so the last address that is not a trusted proxy
//! is the client. Anything to its left was written by the client and may be forged.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub async fn resolve(
    State(trusted): State<Arc<[IpNet]>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let client = client_ip(peer.ip(), req.headers(), &trusted);
        if client != peer.ip() {
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
        }
    }
    next.run(req).await
}

/// The client's address: the peer's own unless the peer is trusted, else the right-most
/// `X-Forwarded-For` hop that is not trusted (or the left-most, if all are). A hop that is
/// not an address ends the walk at the last trusted one.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    // On a dual-stack listener an IPv4 proxy connects as ::ffff:a.b.c.d.
    let peer = peer.to_canonical();
    if !is_trusted(&peer) {
        return peer;
    }
    // Several X-Forwarded-For headers are one list, in order. Hops are split as bytes: a
    // client's non-ASCII junk on the left must not hide what the proxies appended.
    let mut hops: Vec<&[u8]> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        hops.extend(value.as_bytes().split(|b| *b == b','));
    }
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = std::str::from_utf8(hop)
            .ok()
            .and_then(|h| parse_hop(h.trim()))
        else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// An address as proxies write it: `192.0.2.1`, `2001:db8::1`, or with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn resolve(peer: &str, xff: &[&str], trusted: &[&str]) -> IpAddr {
        let mut headers = HeaderMap::new();
        for v in xff {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        let trusted: Vec<IpNet> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        client_ip(ip(peer), &headers, &trusted)
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        assert_eq!(
            resolve("198.51.100.9", &["203.0.113.7"], &[]),
            ip("198.51.100.9")
        );
        assert_eq!(
            resolve("198.51.100.9", &["203.0.113.7"], &["10.0.0.0/8"]),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_last_untrusted_hop_is_the_client() {
        let lb = &["10.0.0.0/8"];
        assert_eq!(resolve("10.0.0.2", &["203.0.113.7"], lb), ip("203.0.113.7"));
        // The client wrote the left part; only what the proxies appended counts.
        assert_eq!(
            resolve("10.0.0.2", &["1.1.1.1, 203.0.113.7"], lb),
            ip("203.0.113.7")
        );
        assert_eq!(
            resolve("10.0.0.2", &["1.1.1.1", "203.0.113.7, 10.0.0.5"], lb),
            ip("203.0.113.7"),
            "two proxies, two headers"
        );
        assert_eq!(
            resolve("10.0.0.2", &["10.0.0.7, 10.0.0.5"], lb),
            ip("10.0.0.7"),
            "all trusted: the first"
        );
        assert_eq!(resolve("10.0.0.2", &[], lb), ip("10.0.0.2"), "no header");
        assert_eq!(
            resolve("10.0.0.2", &["[2001:db8::1]:4711"], lb),
            ip("2001:db8::1")
        );
        assert_eq!(
            resolve("10.0.0.2", &["::ffff:203.0.113.7"], lb),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn an_ipv4_proxy_on_a_dual_stack_listener_is_recognised() {
        assert_eq!(
            resolve("::ffff:10.0.0.2", &["203.0.113.7"], &["10.0.0.0/8"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn garbage_stops_at_the_last_trusted_hop() {
        let lb = &["10.0.0.0/8"];
        assert_eq!(
            resolve("10.0.0.2", &["203.0.113.7, not-an-ip, 10.0.0.5"], lb),
            ip("10.0.0.5")
        );
        assert_eq!(resolve("10.0.0.2", &["unknown"], lb), ip("10.0.0.2"));
    }

    #[test]
    fn non_ascii_on_the_left_does_not_hide_the_client() {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_bytes(b"\xff\xfe junk, 203.0.113.7").unwrap();
        headers.append("x-forwarded-for", value);
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers, &trusted),
            ip("203.0.113.7")
        );
    }
}
