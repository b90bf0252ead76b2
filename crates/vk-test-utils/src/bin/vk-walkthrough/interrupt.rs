//! SIGINT/SIGTERM: stop what the walkthrough started instead of leaking it.
//!
//! The webhook and the pod sandbox run in process groups of their own (so a timeout can kill
//! a whole tree), which also means a terminal's Ctrl-C never reaches them. On a signal, a
//! watcher thread records it and keeps killing every child of this process (and its group)
//! until the main thread, whose current step then fails, has dropped its guards and exited.
//! The guards remove the temp dirs; `main` reports the interruption.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};

static RECEIVED: OnceLock<&'static str> = OnceLock::new();

/// The signal that interrupted the walkthrough, if any.
pub(crate) fn received() -> Option<&'static str> {
    RECEIVED.get().copied()
}

/// Fails the current step early when a signal has arrived (checked between steps, so nothing
/// new is started after an interruption).
pub(crate) fn check() -> anyhow::Result<()> {
    match received() {
        Some(signal) => anyhow::bail!("interrupted by {signal}"),
        None => Ok(()),
    }
}

/// Installs the handlers (before anything is started) and the watcher thread.
pub(crate) fn install() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the signal watcher")?;
    let (mut int, mut term) = runtime
        .block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        })
        .context("installing the SIGINT/SIGTERM handlers")?;
    std::thread::spawn(move || {
        let name = runtime.block_on(async {
            tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            }
        });
        let _ = RECEIVED.set(name);
        eprintln!("\nvk-walkthrough: {name} received, stopping everything it started");
        loop {
            kill_children();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    Ok(())
}

/// SIGKILLs each direct child of this process, and its whole group when it leads one.
fn kill_children() {
    let me = std::process::id();
    for (pid, pgid) in children_of(me) {
        let target = if pgid == pid {
            format!("-{pid}")
        } else {
            pid.to_string()
        };
        let _ = Command::new("kill")
            .args(["-KILL", "--", &target])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// `(pid, process group)` of each process whose parent is `parent` (from `/proc/*/stat`).
fn children_of(parent: u32) -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // After the parenthesised command: state, ppid, pgrp, …
            let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(1);
            let ppid: u32 = fields.next()?.parse().ok()?;
            let pgid: u32 = fields.next()?.parse().ok()?;
            (ppid == parent).then_some((pid, pgid))
        })
        .collect()
}
