//! Memory figures of a running process, read from `/proc/<pid>/status`.

use anyhow::Context;

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`, …), in KiB.
pub(crate) fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_field(&text, field).with_context(|| format!("no {field} line in {path}"))
}

fn parse_field(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_field_only() {
        let status = "Name:\tx\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\n";
        assert_eq!(parse_field(status, "VmRSS"), Some(1024));
        assert_eq!(parse_field(status, "VmHWM"), Some(2048));
        assert_eq!(parse_field(status, "VmRS"), None);
        assert_eq!(parse_field(status, "VmSwap"), None);
    }

    #[test]
    fn reads_this_process() {
        assert!(status_kib(std::process::id(), "VmRSS").unwrap() > 0);
    }
}
