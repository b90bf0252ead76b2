//! The standard `process_*` series of the Prometheus client libraries, read from `/proc` at
//! each scrape: resident memory, CPU seconds, open file descriptors and start time. On a
//! system without `/proc` the collector yields nothing.

use std::fs;

use prometheus::core::{Collector, Desc, Describer as _, Opts};
use prometheus::proto::{Counter, Gauge, Metric, MetricFamily, MetricType};

/// Clock ticks per second of `/proc/<pid>/stat` times: Linux exports them in USER_HZ, which
/// is 100 on every architecture the kernel supports (the kernel scales to it for userspace).
const USER_HZ: f64 = 100.0;

const RSS: (&str, &str) = (
    "process_resident_memory_bytes",
    "Resident memory size in bytes.",
);
const CPU: (&str, &str) = (
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
);
const FDS: (&str, &str) = ("process_open_fds", "Number of open file descriptors.");
const START: (&str, &str) = (
    "process_start_time_seconds",
    "Start time of the process since unix epoch in seconds.",
);

/// Collects the process series of this process; register it in the caller's registry.
#[derive(Debug)]
pub struct ProcessCollector {
    descs: Vec<Desc>,
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessCollector {
    pub fn new() -> Self {
        let descs = [RSS, CPU, FDS, START]
            .iter()
            .filter_map(|(name, help)| Opts::new(*name, *help).describe().ok())
            .collect();
        Self { descs }
    }
}

/// The values read from `/proc/self`.
#[derive(Debug, Default, PartialEq)]
struct Sample {
    rss_bytes: Option<f64>,
    cpu_seconds: Option<f64>,
    open_fds: Option<f64>,
    start_seconds: Option<f64>,
}

fn read_sample() -> Sample {
    let stat = fs::read_to_string("/proc/self/stat").ok();
    let fields = stat.as_deref().and_then(stat_fields);
    let boot = fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| boot_time(&s));
    Sample {
        rss_bytes: fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| rss_kib(&s))
            .map(|kib| kib * 1024.0),
        cpu_seconds: fields.map(|f| (f.utime + f.stime) / USER_HZ),
        open_fds: fs::read_dir("/proc/self/fd")
            .ok()
            // The directory handle itself is one of the entries while it is read.
            .map(|d| d.count().saturating_sub(1) as f64),
        start_seconds: fields
            .zip(boot)
            .map(|(f, boot)| boot + f.start_ticks / USER_HZ),
    }
}

#[derive(Debug, Clone, Copy)]
struct StatFields {
    utime: f64,
    stime: f64,
    start_ticks: f64,
}

/// Fields 14, 15 and 22 of `/proc/<pid>/stat`, counted after the `)` that ends the command
/// name (which may itself hold spaces and parentheses).
fn stat_fields(stat: &str) -> Option<StatFields> {
    let after = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state).
    let num = |i: usize| f.get(i - 3)?.parse::<f64>().ok();
    Some(StatFields {
        utime: num(14)?,
        stime: num(15)?,
        start_ticks: num(22)?,
    })
}

fn rss_kib(status: &str) -> Option<f64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

fn boot_time(stat: &str) -> Option<f64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

fn family(name: &str, help: &str, kind: MetricType, value: f64) -> MetricFamily {
    let mut metric = Metric::default();
    if kind == MetricType::COUNTER {
        let mut c = Counter::default();
        c.set_value(value);
        metric.set_counter(c);
    } else {
        let mut g = Gauge::default();
        g.set_value(value);
        metric.set_gauge(g);
    }
    let mut mf = MetricFamily::default();
    mf.set_name(name.to_owned());
    mf.set_help(help.to_owned());
    mf.set_field_type(kind);
    mf.mut_metric().push(metric);
    mf
}

impl Collector for ProcessCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let s = read_sample();
        [
            (RSS, MetricType::GAUGE, s.rss_bytes),
            (CPU, MetricType::COUNTER, s.cpu_seconds),
            (FDS, MetricType::GAUGE, s.open_fds),
            (START, MetricType::GAUGE, s.start_seconds),
        ]
        .into_iter()
        .filter_map(|((name, help), kind, v)| v.map(|v| family(name, help, kind, v)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let stat =
            "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 12345 1000 10";
        let f = stat_fields(stat).expect("fields");
        assert_eq!((f.utime, f.stime, f.start_ticks), (250.0, 50.0, 12345.0));
        assert_eq!(rss_kib("Name:\tx\nVmRSS:\t  2048 kB\n"), Some(2048.0));
        assert_eq!(
            boot_time("cpu 1 2\nbtime 1700000000\n"),
            Some(1_700_000_000.0)
        );
    }

    #[test]
    fn reads_this_process() {
        let registry = prometheus::Registry::new();
        registry
            .register(Box::new(ProcessCollector::new()))
            .expect("register");
        let text =
            String::from_utf8(crate::encode_text(&registry).expect("encode")).expect("utf-8");
        for name in [RSS.0, CPU.0, FDS.0, START.0] {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} missing:\n{text}"
            );
        }
        let s = read_sample();
        assert!(s.rss_bytes.is_some_and(|v| v > 1_000_000.0), "{s:?}");
        assert!(s.open_fds.is_some_and(|v| v >= 3.0), "{s:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let start = s.start_seconds.unwrap_or(0.0);
        assert!(
            start > now - 3600.0 && start <= now + 1.0,
            "{s:?} now {now}"
        );
    }
}
