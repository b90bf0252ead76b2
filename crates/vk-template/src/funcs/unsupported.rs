//! Functions Vault registers but vault-k8s's agent cannot serve: Consul and Nomad lookups
//! (Vault's agent never configures those clients), and the I/O helpers `writeToFile`,
//! `plugin` and `sockaddr`. They parse like in Vault and fail at
//! execution with a clear reason.

use super::{CallResult, P, Registry, add};
use crate::exec::State;
use crate::value::Value;

const CONSUL: &[&str] = &[
    "datacenters",
    "key",
    "keyExists",
    "keyOrDefault",
    "ls",
    "safeLs",
    "node",
    "nodes",
    "service",
    "services",
    "connect",
    "tree",
    "safeTree",
    "caRoots",
    "caLeaf",
    "partitions",
    "peerings",
    "exportedServices",
    "importedServices",
    "byKey",
    "byTag",
    "byMeta",
    "byPort",
    "explode",
    "nomadServices",
    "nomadService",
    "nomadVarList",
    "nomadVarListSafe",
    "nomadVar",
    "nomadVarExists",
];

const IO: &[&str] = &["writeToFile", "plugin", "sockaddr"];

fn consul(_: &mut State<'_>, _: Vec<Value>) -> CallResult {
    Err("Consul and Nomad functions are not available in the Vault agent (no Consul/Nomad client is configured)".into())
}

fn io(_: &mut State<'_>, _: Vec<Value>) -> CallResult {
    Err("not supported by vault-k8s agent (the template engine performs no I/O)".into())
}

pub(super) fn register(r: &mut Registry) {
    for name in CONSUL {
        add(r, name, &[], Some(P::Any), consul);
    }
    for name in IO {
        add(r, name, &[], Some(P::Any), io);
    }
}
