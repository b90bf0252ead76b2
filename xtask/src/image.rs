//! `cargo xtask image` (being built).

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("xtask image is not built yet (args: {args:?})")
}
