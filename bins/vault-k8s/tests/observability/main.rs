//! Observability contract tests against the real binaries: the metrics docs/metrics.md lists
//! are exactly the ones served (injector and agent), and Debian's Prometheus scrapes both and
//! evaluates every expression of the chart's dashboards and alert rules.

mod contract;
mod prometheus;
mod queries;
mod support;
