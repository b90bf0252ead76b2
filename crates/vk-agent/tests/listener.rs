//! The agent's listener (API proxy, lease cache, quit, metrics) as a process against a real
//! `bao server -dev`, next to `bao agent` with the same configuration as the reference.

mod common;

mod listener {
    mod abuse;
    mod injector;
    mod listeners;
    pub(crate) mod support;
}
