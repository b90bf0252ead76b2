//! `cargo xtask ci` (being built).

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("xtask ci is not built yet (args: {args:?})")
}
