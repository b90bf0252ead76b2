//! `cargo xtask bench` (being built).

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("xtask bench is not built yet (args: {args:?})")
}
