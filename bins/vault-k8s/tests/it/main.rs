//! Black-box tests of the `vault-k8s` binary: real processes on 127.0.0.1, port 0, certificates
//! generated per test, HTTPS clients that verify the generated CA.

mod autotls;
mod cli;
mod drain;
mod reload;
mod support;
mod webhook;
