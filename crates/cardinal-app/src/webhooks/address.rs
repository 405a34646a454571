//! Which addresses a webhook may reach. An owner or admin names the callback URL, and the
//! server dials it: without these rules any of them could make Cardinal connect into the
//! operator's own network (server-side request forgery). So the rule is checked twice, on
//! the same resolver:
//! - when a subscription is created or its URL changed ([`callback_problem`], a 422 with the
//!   reason), on every address the host resolves to;
//! - when an attempt connects ([`GuardedResolver`]), on the addresses actually dialled, so a
//!   name whose answer changes after the first check (DNS rebinding) gets nothing. An IP
//!   literal is checked before the attempt ([`literal_refusal`]): no resolver sees it.
//!
//! In production only public unicast addresses may be dialled; in the sandbox also loopback,
//! private and unique-local ones (where test receivers run), never the cloud metadata
//! addresses (link-local, shared address space). `--webhook-allow-network` names exceptions.

use crate::net::Cidr;
use crate::Mode;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// What an attempt records when the address is refused: nothing about ports or answers, so
/// the attempt log cannot be used to scan a network.
pub const NOT_ALLOWED: &str = "address not allowed";

/// How long a subscription's request waits for its host to resolve.
const LOOKUP_PATIENCE: Duration = Duration::from_secs(2);

/// What kind of address an IP is, as far as webhooks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Globally reachable unicast.
    Public,
    /// Loopback, private (RFC 1918) or unique-local IPv6: a developer's own machine or network.
    Local(&'static str),
    /// Never dialled unless explicitly allowed: link-local (cloud metadata lives there), shared
    /// address space, multicast, unspecified, broadcast, reserved, documentation, IPv4-mapped
    /// and the IPv6 forms that tunnel to such IPv4 addresses.
    Forbidden(&'static str),
}

pub fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, network: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(network)) & mask
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    use Class::*;
    const BLOCKS: [([u8; 4], u32, Class); 15] = [
        ([0, 0, 0, 0], 8, Forbidden("unspecified")),
        ([127, 0, 0, 0], 8, Local("loopback")),
        ([10, 0, 0, 0], 8, Local("private")),
        ([172, 16, 0, 0], 12, Local("private")),
        ([192, 168, 0, 0], 16, Local("private")),
        ([169, 254, 0, 0], 16, Forbidden("link-local (cloud metadata)")),
        ([100, 64, 0, 0], 10, Forbidden("shared address space (CGNAT)")),
        ([192, 0, 0, 0], 24, Forbidden("reserved")),
        ([192, 0, 2, 0], 24, Forbidden("documentation")),
        ([198, 51, 100, 0], 24, Forbidden("documentation")),
        ([203, 0, 113, 0], 24, Forbidden("documentation")),
        ([198, 18, 0, 0], 15, Forbidden("benchmarking")),
        ([224, 0, 0, 0], 4, Forbidden("multicast")),
        ([255, 255, 255, 255], 32, Forbidden("broadcast")),
        ([240, 0, 0, 0], 4, Forbidden("reserved")),
    ];
    BLOCKS.iter().find(|(net, prefix, _)| in_v4(ip, *net, *prefix)).map_or(Public, |(_, _, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> Class {
    use Class::*;
    let s = ip.segments();
    let bits = u128::from(ip);
    let prefixed = |network: u128, prefix: u32| bits >> (128 - prefix) == network >> (128 - prefix);
    // The IPv4 address a tunnelling form reaches, judged as that address.
    let tunnelled = |v4: Ipv4Addr| match classify_v4(v4) {
        Public => Public,
        _ => Forbidden("an IPv6 form of a non-public IPv4 address"),
    };
    if ip.is_unspecified() {
        Forbidden("unspecified")
    } else if ip.is_loopback() {
        Local("loopback")
    } else if prefixed(0xffff << 32, 96) {
        Forbidden("IPv4-mapped")
    } else if prefixed(0, 96) {
        Forbidden("IPv4-compatible")
    } else if prefixed(0x0064_ff9b << 96, 96) {
        tunnelled(Ipv4Addr::from(bits as u32))
    } else if s[0] == 0x2002 {
        tunnelled(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32))
    } else if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        Forbidden("cloud metadata")
    } else if s[0] & 0xfe00 == 0xfc00 {
        Local("unique-local")
    } else if s[0] & 0xffc0 == 0xfe80 {
        Forbidden("link-local")
    } else if s[0] & 0xffc0 == 0xfec0 {
        Forbidden("site-local")
    } else if s[0] & 0xff00 == 0xff00 {
        Forbidden("multicast")
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Forbidden("documentation")
    } else if s[0] == 0x2001 && (s[1] == 0 || s[1] & 0xfff0 == 0x0010 || s[1] == 2 && s[2] == 0) {
        Forbidden("reserved (Teredo, ORCHID or benchmarking)")
    } else if s[0] & 0xe000 == 0x2000 {
        Public
    } else {
        Forbidden("reserved")
    }
}

/// The addresses this server's webhooks may dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressPolicy {
    /// The sandbox also dials loopback, private and unique-local addresses.
    sandbox: bool,
    /// `--webhook-allow-network`: blocks dialled whatever their class.
    allowed: Vec<Cidr>,
}

impl AddressPolicy {
    pub fn new(mode: Mode, allowed: Vec<Cidr>) -> AddressPolicy {
        AddressPolicy { sandbox: mode == Mode::Sandbox, allowed }
    }

    /// Why `ip` may not be dialled (its class), or `None` when it may.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allowed.iter().any(|block| block.contains(ip)) {
            return None;
        }
        match classify(ip) {
            Class::Public => None,
            Class::Local(_) if self.sandbox => None,
            Class::Local(name) | Class::Forbidden(name) => Some(name),
        }
    }
}

/// Names to addresses: the system's resolver in the server, a scripted one in tests (which
/// must make a name change its answer between two lookups).
pub trait HostResolver: Send + Sync + 'static {
    fn lookup(&self, host: &str) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;
}

/// `getaddrinfo`, on a blocking thread (tokio's).
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn lookup(&self, host: &str) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        let host = host.to_owned();
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.map(|a| a.ip()).collect()) })
    }
}

/// The resolver the delivery client dials through: it keeps only the addresses the policy
/// allows, and fails with [`NotAllowed`] when none is left.
pub struct GuardedResolver {
    pub policy: AddressPolicy,
    pub resolver: Arc<dyn HostResolver>,
}

/// No address of the host may be dialled.
#[derive(Debug)]
pub struct NotAllowed;

impl std::fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(NOT_ALLOWED)
    }
}

impl std::error::Error for NotAllowed {}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (policy, resolver, host) = (self.policy.clone(), self.resolver.clone(), name.as_str().to_owned());
        Box::pin(async move {
            let found = resolver.lookup(&host).await?;
            let dialled: Vec<SocketAddr> =
                found.iter().filter(|ip| policy.refusal(**ip).is_none()).map(|ip| SocketAddr::new(*ip, 0)).collect();
            if dialled.is_empty() && !found.is_empty() {
                return Err(Box::new(NotAllowed) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(dialled.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The refusal of a URL whose host is an IP literal (`https://10.0.0.1/`, `https://0x7f000001/`,
/// `https://[::1]/`): the connector dials those without asking any resolver.
pub fn literal_refusal(url: &reqwest::Url, policy: &AddressPolicy) -> Option<&'static str> {
    match url.host()? {
        url::Host::Ipv4(ip) => policy.refusal(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => policy.refusal(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// Why a callback URL is refused, if it is (a subscription's 422):
/// - at most 512 characters, absolute, `https` with a host;
/// - in the sandbox also `http`, to a loopback or private address (where test receivers run);
/// - every address the host resolves to must be one the server may dial ([`AddressPolicy`]);
///   in production the host must resolve; in the sandbox, which may be offline, a name that
///   does not resolve is taken (its attempts will say so).
pub async fn callback_problem(url: &str, policy: &AddressPolicy, resolver: &dyn HostResolver) -> Option<String> {
    if url.chars().count() > 512 {
        return Some("callback_url must have at most 512 characters".into());
    }
    let Ok(parsed) = reqwest::Url::parse(url) else { return Some("callback_url must be an absolute URL".into()) };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some("callback_url must use https".into());
    }
    let Some(host) = parsed.host() else { return Some("callback_url must name a host".into()) };
    if parsed.scheme() == "http" && !policy.sandbox {
        return Some("callback_url must use https".into());
    }
    let addresses = match host {
        url::Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
        url::Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
        url::Host::Domain(name) => match tokio::time::timeout(LOOKUP_PATIENCE, resolver.lookup(name)).await {
            Ok(Ok(found)) if !found.is_empty() => found,
            _ if policy.sandbox => Vec::new(),
            _ => return Some(format!("callback_url's host {name} does not resolve")),
        },
    };
    if let Some(class) = addresses.iter().find_map(|ip| policy.refusal(*ip)) {
        return Some(format!(
            "callback_url reaches a {class} address, which webhooks may not call{}",
            if policy.sandbox { "" } else { " (an operator may allow a network with --webhook-allow-network)" }
        ));
    }
    let local = !addresses.is_empty() && addresses.iter().all(|ip| matches!(classify(*ip), Class::Local(_)));
    if parsed.scheme() == "http" && !local {
        return Some("callback_url must use https (http only to a loopback or private address in the sandbox)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn production_dials_only_public_unicast() {
        let policy = AddressPolicy::new(Mode::Production, vec![]);
        let refused = [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::",
            "fc00::1",
            "fd12:3456::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "100::1",
        ];
        for address in refused {
            assert!(policy.refusal(ip(address)).is_some(), "{address} must be refused");
        }
        for address in ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::"]
        {
            assert_eq!(policy.refusal(ip(address)), None, "{address} is public");
        }
    }

    #[test]
    fn the_sandbox_dials_local_networks_but_never_metadata() {
        let policy = AddressPolicy::new(Mode::Sandbox, vec![]);
        for address in ["127.0.0.1", "10.1.2.3", "192.168.0.9", "::1", "fd12::1", "8.8.8.8"] {
            assert_eq!(policy.refusal(ip(address)), None, "{address}");
        }
        for address in ["169.254.169.254", "fd00:ec2::254", "fe80::1", "100.100.100.200", "0.0.0.0", "::ffff:127.0.0.1"]
        {
            assert!(policy.refusal(ip(address)).is_some(), "{address}");
        }
    }

    #[test]
    fn an_allowed_network_is_dialled_whatever_its_class() {
        let policy = AddressPolicy::new(Mode::Production, vec![Cidr::parse("10.1.2.0/24").unwrap()]);
        assert_eq!(policy.refusal(ip("10.1.2.7")), None);
        assert!(policy.refusal(ip("10.1.3.7")).is_some());
    }

    #[test]
    fn literals_in_every_spelling_are_checked() {
        let policy = AddressPolicy::new(Mode::Production, vec![]);
        for url in [
            "https://0x7f000001/",
            "https://2130706433/",
            "https://127.1/",
            "https://[::1]:8443/",
            "https://0177.0.0.1/",
        ] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert_eq!(literal_refusal(&parsed, &policy), Some("loopback"), "{url}");
        }
    }
}
