//! `cargo xtask chart` (being built).

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("xtask chart is not built yet (args: {args:?})")
}
