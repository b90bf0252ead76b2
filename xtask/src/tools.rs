//! `cargo xtask tools` (being built).

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("xtask tools is not built yet (args: {args:?})")
}
