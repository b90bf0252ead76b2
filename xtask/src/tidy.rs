//! `cargo xtask tidy` (being built).

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("xtask tidy is not built yet (args: {args:?})")
}
