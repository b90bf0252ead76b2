//! HTTP tests of the object store.
