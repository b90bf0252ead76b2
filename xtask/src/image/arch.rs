//! The platforms the images are built for, and the static binary of each: linux/amd64 with the
//! host's musl-gcc, linux/arm64 cross-compiled with `cargo zigbuild` (zig's C compiler builds
//! ring's C and assembly for aarch64 musl, and links). `cargo xtask tools` installs both halves
//! (the rustup target and the PyPI `ziglang` + `cargo-zigbuild` wheels in `.tools/venv-zig`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::meta;

/// One image platform (always `linux`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Arch {
    Amd64,
    Arm64,
}

/// Every platform, in the order the image index lists them.
pub(crate) const ALL: [Arch; 2] = [Arch::Amd64, Arch::Arm64];

impl Arch {
    /// The OCI / Go name (`platform.architecture`).
    pub(crate) fn oci(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    pub(crate) fn triple(self) -> &'static str {
        match self {
            Arch::Amd64 => super::MUSL,
            Arch::Arm64 => "aarch64-unknown-linux-musl",
        }
    }

    /// ELF `e_machine`.
    pub(crate) fn elf_machine(self) -> u16 {
        match self {
            Arch::Amd64 => 0x3e,
            Arch::Arm64 => 0xb7,
        }
    }

    /// Where `cargo build --release --target <triple>` leaves the binary.
    pub(crate) fn release_binary(self) -> PathBuf {
        meta::target_dir()
            .join(self.triple())
            .join("release")
            .join("vault-k8s")
    }
}

/// The venv `cargo xtask tools` puts `ziglang` and `cargo-zigbuild` in.
pub(crate) fn zig_venv() -> PathBuf {
    crate::util::tools_dir().join("venv-zig")
}

/// Builds the static release binary for `arch` and returns its path.
pub(crate) fn build_binary(arch: Arch, opt_level: Option<&str>) -> Result<PathBuf> {
    let mut cmd = match arch {
        Arch::Amd64 => {
            let mut c = Command::new(meta::cargo());
            c.arg("build");
            c
        }
        Arch::Arm64 => {
            let venv_bin = zig_venv().join("bin");
            let zigbuild = venv_bin.join("cargo-zigbuild");
            if !zigbuild.is_file() {
                bail!(
                    "{} is missing: run `cargo xtask tools` (it installs the PyPI wheels ziglang and cargo-zigbuild there) \
                     to cross-compile the linux/arm64 binary",
                    zigbuild.display()
                );
            }
            let mut c = Command::new(zigbuild);
            // cargo-zigbuild finds zig as `python3 -m ziglang`: the venv's python comes first.
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut paths = vec![venv_bin];
            paths.extend(std::env::split_paths(&path));
            c.env("PATH", std::env::join_paths(paths)?);
            c.arg("zigbuild");
            c
        }
    };
    cmd.current_dir(meta::root()).args([
        "--release",
        "--locked",
        "--target",
        arch.triple(),
        "-p",
        "vault-k8s",
    ]);
    if let Some(l) = opt_level {
        // Quoted as a TOML string when it is not a number ("z", "s").
        let v = if l.parse::<u8>().is_ok() {
            l.to_string()
        } else {
            format!("\"{l}\"")
        };
        cmd.arg("--config")
            .arg(format!("profile.release.opt-level={v}"));
    }
    eprintln!("image: {}", meta::show(&cmd));
    meta::status(&mut cmd).with_context(|| match arch {
        Arch::Amd64 => "building the static binary failed; it needs the musl target (`rustup target add x86_64-unknown-linux-musl`) \
                        and musl-tools (`apt-get install -y musl-tools`)"
            .to_string(),
        Arch::Arm64 => format!(
            "cross-compiling the linux/arm64 binary failed; it needs `rustup target add {}` and the zig tools \
             (`cargo xtask tools` installs both)",
            arch.triple()
        ),
    })?;
    Ok(arch.release_binary())
}

/// The static binary for `arch`: `given` (checked) or a fresh build.
pub(crate) fn binary(arch: Arch, given: Option<&Path>, opt_level: Option<&str>) -> Result<PathBuf> {
    let path = match given {
        // Absolute, so callers may run it from another directory.
        Some(p) => std::fs::canonicalize(p)
            .with_context(|| format!("cannot find the {} binary {}", arch.triple(), p.display()))?,
        None => build_binary(arch, opt_level)?,
    };
    meta::check_static_elf(&path, arch)?;
    Ok(path)
}
