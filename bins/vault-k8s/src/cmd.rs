//! One module per subcommand, each with a `run` returning the exit code.

pub(crate) mod agent;
pub(crate) mod agent_inject;
pub(crate) mod render;
pub(crate) mod version;
