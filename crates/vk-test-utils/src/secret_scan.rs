//! The one scanner for secret hygiene tests: seeded secret values and tokens must not appear in
//! anything an operator or a collector sees (log lines, metrics scrapes, exported spans).
//! A failure names the value's label and the place, never the value itself.

/// Values shorter than this could turn up by chance in unrelated text, so a scan for them
/// would prove nothing; seed longer, recognisable values instead.
pub const MIN_SEEDED_LEN: usize = 7;

/// Panics if any `seeded` value (label, value; trimmed) appears in any of `places` (label,
/// text), or if a seeded value is too short to scan for.
pub fn assert_absent(seeded: &[(&str, &str)], places: &[(&str, &str)]) {
    for (what, value) in seeded {
        let value = value.trim();
        assert!(
            value.len() >= MIN_SEEDED_LEN,
            "{what} is too short to scan for ({} chars, need {MIN_SEEDED_LEN})",
            value.len()
        );
        for (place, text) in places {
            assert!(
                !text.contains(value),
                "{what} ({} chars) appears in the {place}",
                value.len()
            );
        }
    }
}

/// [`assert_absent`] with the values labelled by position (`seeded value #1`, …).
pub fn assert_absent_unlabelled(values: &[&str], places: &[(&str, &str)]) {
    let labels: Vec<String> = (1..=values.len())
        .map(|i| format!("seeded value #{i}"))
        .collect();
    let seeded: Vec<(&str, &str)> = labels
        .iter()
        .map(String::as_str)
        .zip(values.iter().copied())
        .collect();
    assert_absent(&seeded, places);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_values_pass() {
        assert_absent(
            &[("password", "pw-1234567")],
            &[("log", "nothing here"), ("metrics", "x 1")],
        );
    }

    #[test]
    #[should_panic(expected = "password (10 chars) appears in the metrics")]
    fn a_present_value_fails_naming_label_and_place_only() {
        assert_absent(
            &[("password", "pw-1234567")],
            &[("log", "nothing"), ("metrics", "leak=pw-1234567")],
        );
    }

    #[test]
    #[should_panic(expected = "too short to scan for")]
    fn short_values_are_refused() {
        assert_absent_unlabelled(&["pw"], &[("log", "")]);
    }
}
