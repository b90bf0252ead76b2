//! Reading test counts out of the runners' output, so CI can close on one plain line:
//! `tests: N passed, N failed, N skipped`.

/// Totals over a whole test run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) passed: u64,
    pub(crate) failed: u64,
    pub(crate) skipped: u64,
}

impl Counts {
    /// Adds what one output line reports, if it is a summary line of nextest or of libtest.
    pub(crate) fn add_line(&mut self, line: &str) {
        let line = strip_ansi(line);
        // nextest: "     Summary [   3.21s] 57 tests run: 55 passed, 1 failed, 2 skipped"
        // (nextest prints one such line per run, so it is taken as the total).
        if let Some(rest) = line
            .split_once(" tests run: ")
            .or_else(|| line.split_once(" test run: "))
        {
            if line.trim_start().starts_with("Summary") {
                *self = Counts::default();
                self.add_items(rest.1, ',');
            }
            return;
        }
        // libtest: "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; ..."
        // (one per test binary, so they are summed).
        if let Some(rest) = line.trim_start().strip_prefix("test result: ") {
            self.add_items(rest.split_once(". ").map_or(rest, |(_, r)| r), ';');
        }
    }

    fn add_items(&mut self, items: &str, sep: char) {
        for item in items.split(sep) {
            let mut words = item.split_whitespace();
            let (Some(n), Some(what)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match what {
                "passed" => self.passed += n,
                "failed" | "timed" => self.failed += n,
                "skipped" | "ignored" => self.skipped += n,
                _ => {}
            }
        }
    }

    /// The plain closing line CI understands.
    pub(crate) fn closing_line(&self) -> String {
        format!(
            "tests: {} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// Removes terminal colour codes (`ESC [ ... letter`), which runners add when writing to a terminal.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip up to and including the final letter of the escape sequence.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(lines: &[&str]) -> Counts {
        let mut c = Counts::default();
        for l in lines {
            c.add_line(l);
        }
        c
    }

    #[test]
    fn reads_the_nextest_summary() {
        let c = counts(&[
            "        PASS [   0.010s] xtask tidy::tests::walk",
            "     Summary [   3.210s] 58 tests run: 55 passed, 1 failed, 2 skipped",
        ]);
        assert_eq!(
            c,
            Counts {
                passed: 55,
                failed: 1,
                skipped: 2
            }
        );
        assert_eq!(c.closing_line(), "tests: 55 passed, 1 failed, 2 skipped");
    }

    #[test]
    fn reads_a_coloured_nextest_summary() {
        let c = counts(&[
            "\u{1b}[32;1m     Summary\u{1b}[0m [   1.0s] \u{1b}[1m9\u{1b}[0m tests run: \u{1b}[1m9\u{1b}[0m \u{1b}[32;1mpassed\u{1b}[0m",
        ]);
        assert_eq!(
            c,
            Counts {
                passed: 9,
                failed: 0,
                skipped: 0
            }
        );
    }

    #[test]
    fn sums_libtest_results_over_binaries() {
        let c = counts(&[
            "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.2s",
        ]);
        assert_eq!(
            c,
            Counts {
                passed: 15,
                failed: 2,
                skipped: 1
            }
        );
    }
}
