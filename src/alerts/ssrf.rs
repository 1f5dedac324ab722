//! The SSRF guard: webhook URLs come from configuration, but the addresses their hosts resolve
//! to come from whoever controls DNS. An alert must never be the tool that reaches the cloud
//! metadata service or an internal admin page.
//!
//! Checked twice: when the configuration is loaded (scheme, address literals, `localhost`, and
//! what the host resolves to then) and at every send, when the host is resolved again and the
//! connection is pinned to the address that was checked (so a DNS answer that changes between
//! check and connect, "DNS rebinding", cannot slip through). IP-literal URLs are checked
//! directly: reqwest's connector never asks a resolver about them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why an address may not be called, or `None` when it is a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "the cloud metadata address",
        (127, _) => "a loopback address",
        (10, _) | (192, 168) => "a private address",
        (172, 16..=31) => "a private address",
        (169, 254) => "a link-local address",
        (100, 64..=127) => "a carrier-grade NAT address",
        (0, _) => "an unspecified address",
        (192, 0) if c == 0 => "an IETF protocol address",
        (198, 18..=19) => "a benchmarking address",
        (224..=239, _) => "a multicast address",
        (240..=255, _) => "a reserved or broadcast address",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip
        == "fd00:ec2::254"
            .parse::<Ipv6Addr>()
            .expect("a valid address")
    {
        return Some("the cloud metadata address");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address that is what gets reached.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(embedded_v4(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return forbidden_v4(embedded_v4(segments[1], segments[2]));
    }
    Some(match segments[0] {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() => "an unspecified address",
        0xfc00..=0xfdff => "a unique-local address",
        0xfe80..=0xfebf => "a link-local address",
        0xfec0..=0xfeff => "a site-local address",
        0xff00..=0xffff => "a multicast address",
        // ::/96, the deprecated IPv4-compatible form.
        0 if segments[1..6] == [0; 5] => "an IPv4-compatible address",
        _ => return None,
    })
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// Why a webhook URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("'{0}' is not a URL")]
    NotAUrl(String),
    #[error("only http and https URLs are allowed, not '{0}'")]
    Scheme(String),
    #[error("the URL must not carry a user name or password")]
    Credentials,
    #[error("the URL has no host")]
    NoHost,
    #[error(
        "{host} is {reason}{}; set allow_private_address = true only for a receiver you run yourself",
        resolved_to(host, ip)
    )]
    Private {
        host: String,
        ip: IpAddr,
        reason: &'static str,
    },
    #[error("{0} cannot be resolved: {1}")]
    Unresolved(String, String),
}

/// ` (resolves to 10.0.0.5)` for a name; nothing for an address literal.
fn resolved_to(host: &str, ip: &IpAddr) -> String {
    if host == ip.to_string() {
        String::new()
    } else {
        format!(" (resolves to {ip})")
    }
}

/// A URL split into what the guard needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: reqwest::Url,
    pub host: String,
    pub port: u16,
    /// Set when the host is an address literal.
    pub literal: Option<IpAddr>,
}

/// The checks that need no DNS: scheme, credentials, address literals and `localhost`.
pub fn check_static(raw: &str, allow_private: bool) -> Result<Target, UrlRefused> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| UrlRefused::NotAUrl(raw.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlRefused::Scheme(url.scheme().to_string()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRefused::Credentials);
    }
    let port = url.port_or_known_default().ok_or(UrlRefused::NoHost)?;
    // The URL parser has already normalised address literals (`2130706433` → `127.0.0.1`).
    let raw_host = url.host_str().ok_or(UrlRefused::NoHost)?;
    let bare = raw_host.trim_start_matches('[').trim_end_matches(']');
    let (host, literal) = match bare.parse::<IpAddr>() {
        Ok(ip) => (ip.to_string(), Some(ip)),
        Err(_) => (bare.trim_end_matches('.').to_lowercase(), None),
    };
    if !allow_private {
        if let Some(ip) = literal {
            check_address(&host, ip)?;
        }
        if host == "localhost" || host.ends_with(".localhost") {
            return Err(UrlRefused::Private {
                host,
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                reason: "a loopback address",
            });
        }
    }
    Ok(Target {
        url,
        host,
        port,
        literal,
    })
}

/// Refuses a forbidden address for `host`.
pub fn check_address(host: &str, ip: IpAddr) -> Result<(), UrlRefused> {
    match forbidden_reason(ip) {
        Some(reason) => Err(UrlRefused::Private {
            host: host.to_string(),
            ip,
            reason,
        }),
        None => Ok(()),
    }
}

/// Checks every resolved address: one forbidden answer refuses the host, since the attacker
/// who controls its DNS also controls which answer a client would pick.
pub fn check_resolved(
    host: &str,
    addresses: &[SocketAddr],
    allow_private: bool,
) -> Result<(), UrlRefused> {
    if addresses.is_empty() {
        return Err(UrlRefused::Unresolved(
            host.to_string(),
            "no addresses".into(),
        ));
    }
    if allow_private {
        return Ok(());
    }
    for address in addresses {
        check_address(host, address.ip())?;
    }
    Ok(())
}

/// How hosts are resolved at send time; tests substitute a fixed table (a local "DNS").
pub trait Resolve: Send + Sync {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<SocketAddr>, String>>;
}

/// The system resolver (getaddrinfo through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<SocketAddr>, String>> {
        Box::pin(async move {
            tokio::net::lookup_host((host, port))
                .await
                .map(|addresses| addresses.collect())
                .map_err(|error| error.to_string())
        })
    }
}

/// The configuration-time check: [`check_static`], then the host's current addresses through
/// the system resolver. A host that does not resolve now is accepted (DNS may be down at boot);
/// every send checks again.
pub fn check_config_url(raw: &str, allow_private: bool) -> Result<Target, UrlRefused> {
    let target = check_static(raw, allow_private)?;
    if target.literal.is_none() && !allow_private {
        use std::net::ToSocketAddrs;
        if let Ok(addresses) = (target.host.as_str(), target.port).to_socket_addrs() {
            let addresses: Vec<SocketAddr> = addresses.collect();
            if !addresses.is_empty() {
                check_resolved(&target.host, &addresses, false)?;
            }
        }
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        for refused in [
            "127.0.0.1",
            "127.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert!(forbidden_reason(ip).is_some(), "{refused} must be refused");
        }
        for allowed in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "1.1.1.1",
            "2606:4700::1111",
        ] {
            let ip: IpAddr = allowed.parse().unwrap();
            assert_eq!(forbidden_reason(ip), None, "{allowed} is public");
        }
        assert_eq!(
            forbidden_reason("169.254.169.254".parse().unwrap()),
            Some("the cloud metadata address")
        );
    }

    #[test]
    fn static_checks_cover_scheme_credentials_literals_and_localhost() {
        assert!(matches!(
            check_static("ftp://example.org/x", false),
            Err(UrlRefused::Scheme(_))
        ));
        assert!(matches!(
            check_static("https://user:pw@example.org/x", false),
            Err(UrlRefused::Credentials)
        ));
        for url in [
            "http://127.0.0.1/hook",
            "http://[::1]:8080/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.7/",
            "http://localhost:9000/",
            "http://2130706433/",
        ] {
            assert!(
                matches!(check_static(url, false), Err(UrlRefused::Private { .. })),
                "{url}"
            );
            assert!(
                check_static(url, true).is_ok(),
                "{url} allowed when private is allowed"
            );
        }
        let target = check_static("https://Hooks.Example.org/services/x", false).unwrap();
        assert_eq!(
            (target.host.as_str(), target.port),
            ("hooks.example.org", 443)
        );
    }
}
