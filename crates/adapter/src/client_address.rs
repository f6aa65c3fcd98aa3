//! The visitor's address: the connection's peer, or — only when that peer is
//! one of the practice's trusted proxies (`server.trusted_proxies`) — the
//! right-most untrusted hop its `X-Forwarded-For` / `Forwarded` headers name.
//! Everything keyed on the visitor's address (the booking limit) takes it
//! from here, so a visitor cannot choose it by sending those headers.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};

use crate::routes::AppState;

/// A block of addresses written `10.0.0.0/8` or `2001:db8::/32`; a bare
/// address is the block of that one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("\"{address}\" is not an IPv4 or IPv6 address"))?;
        let network = network.to_canonical();
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits && prefix.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("the prefix length must be a number from 0 to {bits}"))?,
        };
        if masked(network, prefix) != network {
            return Err(format!(
                "{network}/{prefix} has bits set after the prefix (the network is {}/{prefix})",
                masked(network, prefix)
            ));
        }
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.network.is_ipv4() && masked(address, self.prefix) == self.network
    }
}

/// `address` with every bit after the first `prefix` cleared.
pub(crate) fn masked(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            IpAddr::from(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            IpAddr::from(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// The visitor's address, as an extractor for handlers.
pub struct VisitorAddress(pub IpAddr);

impl FromRequestParts<Arc<AppState>> for VisitorAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        // The connection loop puts the peer on every request; a request
        // without one (never, when served) counts as unspecified.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
        Ok(Self(visitor_address(
            peer,
            &parts.headers,
            &app.settings.server.trusted_proxies,
        )))
    }
}

/// The visitor behind `peer`. Forwarding headers count only when `peer` is
/// trusted; then the hops they list are walked from the right, skipping
/// trusted ones, and the first untrusted hop is the visitor (entries further
/// left were written by whoever sent the request and may be anything). When
/// the headers are malformed, or `X-Forwarded-For` and `Forwarded` name
/// different visitors (one of them came from the client, and which one cannot
/// be told), the peer's address is used: the request never fails.
pub fn visitor_address(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |address: IpAddr| trusted.iter().any(|cidr| cidr.contains(address));
    if !is_trusted(peer) {
        return peer;
    }
    let from_x_forwarded_for = hops(headers, &X_FORWARDED_FOR, x_forwarded_for_hops)
        .map(|hops| right_most_untrusted(&hops, &is_trusted));
    let from_forwarded = hops(headers, &FORWARDED, forwarded_hops)
        .map(|hops| right_most_untrusted(&hops, &is_trusted));
    let found = match (from_x_forwarded_for, from_forwarded) {
        (None, None) => None,
        (Some(one), None) | (None, Some(one)) => one,
        (Some(a), Some(b)) if a == b => a,
        (Some(_), Some(_)) => None,
    };
    found.unwrap_or(peer)
}

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// One hop a forwarding header names: an address, or something that is not
/// one (`unknown`, an obfuscated name, garbage).
type Hop = Option<IpAddr>;

/// The hops of every `name` header line, in order; `None` when there is no such header.
fn hops(headers: &HeaderMap, name: &HeaderName, parse: fn(&str) -> Vec<Hop>) -> Option<Vec<Hop>> {
    let mut lines = headers.get_all(name).iter().peekable();
    lines.peek()?;
    Some(
        lines
            .flat_map(|line| match line.to_str() {
                Ok(text) => parse(text),
                Err(_) => vec![None],
            })
            .collect(),
    )
}

/// The visitor among `hops` (left = furthest from us): the right-most
/// untrusted one, or the left-most when all are trusted; `None` when that hop
/// is not an address.
fn right_most_untrusted(hops: &[Hop], is_trusted: &impl Fn(IpAddr) -> bool) -> Option<IpAddr> {
    for hop in hops.iter().rev() {
        match hop {
            Some(address) if is_trusted(*address) => continue,
            other => return *other,
        }
    }
    hops.first().copied().flatten()
}

/// `X-Forwarded-For: 203.0.113.7, 10.0.0.2` (ports and IPv6 brackets tolerated).
fn x_forwarded_for_hops(text: &str) -> Vec<Hop> {
    text.split(',')
        .map(|hop| node_address(hop.trim()))
        .collect()
}

/// `Forwarded: for=203.0.113.7;proto=https, for="[2001:db8::1]:4711"` (RFC 7239):
/// one hop per element, from its `for` parameter.
fn forwarded_hops(text: &str) -> Vec<Hop> {
    text.split(',')
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, value)| node_address(value.trim().trim_matches('"')))
        })
        .collect()
}

/// An RFC 7239 node (`192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]`,
/// `[2001:db8::1]:80`, or a bare IPv6 address as X-Forwarded-For writes it).
fn node_address(node: &str) -> Hop {
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    if let Ok(socket) = node.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    let inner = node.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<IpAddr>().ok().map(|a| a.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn cidr_blocks_parse_and_contain_their_addresses() {
        let private: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(private.contains(ip("10.200.3.4")));
        assert!(!private.contains(ip("11.0.0.1")));
        assert!(private.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped IPv6");
        let host: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(host.to_string(), "127.0.0.1/32");
        assert!(!host.contains(ip("127.0.0.2")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let everything: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains(ip("203.0.113.9")));
        assert!(!everything.contains(ip("::1")));
    }

    #[test]
    fn malformed_cidr_blocks_are_refused_with_a_reason() {
        for (text, reason) in [
            ("10.0.0.0/33", "from 0 to 32"),
            ("10.0.0.0/", "from 0 to 32"),
            ("10.0.0.0/+8", "from 0 to 32"),
            ("::/129", "from 0 to 128"),
            ("10.0.0.1/8", "the network is 10.0.0.0/8"),
            ("10.0.0/8", "not an IPv4 or IPv6 address"),
            ("localhost", "not an IPv4 or IPv6 address"),
            ("", "not an IPv4 or IPv6 address"),
        ] {
            let error = text.parse::<Cidr>().unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_visitor_whatever_it_sends() {
        let trusted = cidrs(&["127.0.0.1/32"]);
        let sent = headers(&[
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=198.51.100.1"),
        ]);
        assert_eq!(
            visitor_address(ip("203.0.113.5"), &sent, &trusted),
            ip("203.0.113.5")
        );
        assert_eq!(
            visitor_address(ip("203.0.113.5"), &sent, &[]),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_visitor() {
        let trusted = cidrs(&["127.0.0.1/32", "10.0.0.0/8"]);
        let proxy = ip("127.0.0.1");
        // The visitor wrote the left-most entries itself; the proxies appended the rest.
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4, 5.6.7.8, 203.0.113.7, 10.0.0.2")]);
        assert_eq!(
            visitor_address(proxy, &spoofed, &trusted),
            ip("203.0.113.7")
        );
        // Several header lines are one list.
        let split = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.7, 10.0.0.2"),
        ]);
        assert_eq!(visitor_address(proxy, &split, &trusted), ip("203.0.113.7"));
        // No header: the proxy itself asked (a health check).
        assert_eq!(visitor_address(proxy, &HeaderMap::new(), &trusted), proxy);
    }

    #[test]
    fn an_all_trusted_chain_gives_its_left_most_hop() {
        let trusted = cidrs(&["127.0.0.1/32", "10.0.0.0/8"]);
        let chain = headers(&[("x-forwarded-for", "10.1.1.1, 10.0.0.2")]);
        assert_eq!(
            visitor_address(ip("127.0.0.1"), &chain, &trusted),
            ip("10.1.1.1")
        );
    }

    #[test]
    fn forwarded_elements_with_quoted_ipv6_and_ports_are_read() {
        let trusted = cidrs(&["::1/128", "10.0.0.0/8"]);
        let sent = headers(&[(
            "forwarded",
            "for=192.0.2.60;proto=http, For=\"[2001:db8:cafe::17]:4711\";by=10.0.0.1, for=10.0.0.3",
        )]);
        assert_eq!(
            visitor_address(ip("::1"), &sent, &trusted),
            ip("2001:db8:cafe::17")
        );
        let with_port = headers(&[("forwarded", "for=\"198.51.100.17:8080\"")]);
        assert_eq!(
            visitor_address(ip("::1"), &with_port, &trusted),
            ip("198.51.100.17")
        );
        let bracketed = headers(&[("x-forwarded-for", "[2001:db8::9]:443, 2001:db8::8")]);
        assert_eq!(
            visitor_address(ip("::1"), &bracketed, &trusted),
            ip("2001:db8::8")
        );
    }

    #[test]
    fn malformed_or_contradicting_headers_leave_the_peer() {
        let trusted = cidrs(&["127.0.0.1/32"]);
        let proxy = ip("127.0.0.1");
        for sent in [
            headers(&[("x-forwarded-for", "203.0.113.7, not-an-address")]),
            headers(&[("x-forwarded-for", "")]),
            headers(&[("forwarded", "for=unknown")]),
            headers(&[("forwarded", "for=_hidden, for=127.0.0.1")]),
            headers(&[("forwarded", "proto=https")]),
            headers(&[("forwarded", "for=\"[2001:db8::1\"")]),
            headers(&[
                ("x-forwarded-for", "203.0.113.7"),
                ("forwarded", "for=198.51.100.1"),
            ]),
        ] {
            assert_eq!(visitor_address(proxy, &sent, &trusted), proxy, "{sent:?}");
        }
        // A malformed entry left of the visitor does not matter: it is not read.
        let junk_left = headers(&[("x-forwarded-for", "garbage, 203.0.113.7")]);
        assert_eq!(
            visitor_address(proxy, &junk_left, &trusted),
            ip("203.0.113.7")
        );
        // Both headers naming the same visitor agree.
        let both = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=203.0.113.7"),
        ]);
        assert_eq!(visitor_address(proxy, &both, &trusted), ip("203.0.113.7"));
    }

    #[test]
    fn a_header_that_is_not_text_leaves_the_peer() {
        let trusted = cidrs(&["127.0.0.1/32"]);
        let mut sent = HeaderMap::new();
        sent.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"203.0.113.7\xff").unwrap(),
        );
        assert_eq!(
            visitor_address(ip("127.0.0.1"), &sent, &trusted),
            ip("127.0.0.1")
        );
    }
}
