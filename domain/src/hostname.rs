//! Host names as tenancy accepts them for custom domains: what a request's `Host` header is
//! compared with, so they are kept in one canonical form (lowercase, no port, no trailing dot).

/// At most this many characters (RFC 1035 §2.3.4).
pub const HOSTNAME_MAX: usize = 253;

/// `value` in canonical form if it is a DNS host name of at least two labels: letters,
/// digits and inner hyphens, 1–63 characters a label. IP addresses and ports are not names.
pub fn canonical(value: &str) -> Option<String> {
    let name = value.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let top_is_alphabetic = labels.last().is_some_and(|top| top.chars().any(|c| c.is_ascii_lowercase()));
    (name.len() <= HOSTNAME_MAX && labels.len() >= 2 && labels.iter().all(label_ok) && top_is_alphabetic)
        .then_some(name)
}

/// Whether `host` is `domain` itself or one of its subdomains.
pub fn within(host: &str, domain: &str) -> bool {
    host == domain || host.strip_suffix(domain).is_some_and(|rest| rest.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_is_kept_lowercase_without_its_trailing_dot() {
        assert_eq!(canonical("Login.ACME.example."), Some("login.acme.example".into()));
    }

    #[test]
    fn a_single_label_an_ip_address_a_port_or_a_bad_label_is_not_a_custom_domain() {
        for bad in ["localhost", "10.0.0.1", "acme.example:8080", "-acme.example", "a_b.example", "acme..example", ""] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_subdomain_is_within_its_domain_but_a_lookalike_is_not() {
        assert!(within("acme.tenancy.example", "tenancy.example"));
        assert!(within("tenancy.example", "tenancy.example"));
        assert!(!within("eviltenancy.example", "tenancy.example"));
    }
}
