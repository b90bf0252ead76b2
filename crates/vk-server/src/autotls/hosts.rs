//! `-tls-auto-hosts`: the subject alternative names of the self-generated serving certificate.

use std::fmt;
use std::net::IpAddr;

use rustls::pki_types::DnsName;

use super::AutoTlsError;

/// One subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SanHost {
    Dns(String),
    Ip(IpAddr),
}

/// The parsed, non-empty, de-duplicated host list, in flag order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoTlsHosts(Vec<SanHost>);

impl AutoTlsHosts {
    /// Parse a `-tls-auto-hosts` value: comma-separated, each item trimmed; an item that parses
    /// as an IP address becomes an IP SAN, anything else must be a valid DNS name. An empty list,
    /// an empty item or an invalid name is an error naming it; duplicates are dropped.
    pub fn parse(raw: &str) -> Result<Self, AutoTlsError> {
        if raw.trim().is_empty() {
            return Err(AutoTlsError::NoHosts);
        }
        let mut hosts = Vec::new();
        for (index, item) in raw.split(',').map(str::trim).enumerate() {
            if item.is_empty() {
                return Err(AutoTlsError::EmptyHost {
                    raw: raw.to_owned(),
                    position: index + 1,
                });
            }
            let host = match item.parse::<IpAddr>() {
                Ok(ip) => SanHost::Ip(ip),
                Err(_) => {
                    DnsName::try_from(item).map_err(|_| AutoTlsError::InvalidHost {
                        item: item.to_owned(),
                    })?;
                    SanHost::Dns(item.to_owned())
                }
            };
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
        Ok(Self(hosts))
    }

    /// The hosts in flag order.
    pub fn hosts(&self) -> &[SanHost] {
        &self.0
    }

    /// Whether `sans` names exactly these hosts, in any order.
    pub(crate) fn same_set(&self, sans: &[SanHost]) -> bool {
        let mut ours = self.0.clone();
        let mut theirs = sans.to_vec();
        ours.sort();
        ours.dedup();
        theirs.sort();
        theirs.dedup();
        ours == theirs
    }
}

impl fmt::Display for SanHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(name) => f.write_str(name),
            Self::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

#[cfg(test)]
mod tests;
