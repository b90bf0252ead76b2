//! Template commands (spec §6.8).

use std::time::Duration;

use tokio::process::Command;

use crate::error::AgentError;

/// Runs one command: a single string with white space through `sh -c`, otherwise the argv
/// directly; killed after `timeout`; a non-zero exit is an error.
pub(crate) async fn run(argv: &[String], timeout: Duration) -> Result<(), AgentError> {
    let shown = argv.join(" ");
    let mut cmd = match argv {
        [one] if one.chars().any(char::is_whitespace) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(one);
            c
        }
        [program, args @ ..] => {
            let mut c = Command::new(program);
            c.args(args);
            c
        }
        [] => return Ok(()),
    };
    cmd.process_group(0).kill_on_drop(true);
    let fail = |reason: String| AgentError::Command {
        command: shown.clone(),
        reason,
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("failed to start: {e}")))?;
    tracing::info!(command = %shown, "running template command");
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(fail(format!(
            "command exited with a non-zero exit status ({status})"
        ))),
        Ok(Err(e)) => Err(fail(format!("waiting for the command: {e}"))),
        Err(_) => {
            // The whole process group (the command runs in its own): a shell's children
            // would otherwise outlive it and keep its output pipes open.
            if let Some(pid) = child
                .id()
                .and_then(|p| rustix::process::Pid::from_raw(p as i32))
            {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            let _ = child.kill().await;
            Err(fail(format!(
                "command did not finish in {timeout:?}; killed"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_string()).collect()
    }

    #[tokio::test]
    async fn outcomes() {
        run(&s(&["true"]), Duration::from_secs(5)).await.unwrap();
        run(&s(&["exit 0"]), Duration::from_secs(5)).await.unwrap();
        let e = run(&s(&["sh", "-c", "exit 3"]), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("non-zero exit status"), "{e}");
        let e = run(&s(&["sleep 5"]), Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("killed"), "{e}");
    }
}
