//! `cargo xtask release` (being built).

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("xtask release is not built yet (args: {args:?})")
}
