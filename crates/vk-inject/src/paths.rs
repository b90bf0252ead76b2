//! Go's `path.Clean` / `path.Join` (identical to `filepath` on Linux), used for token paths and
//! secret destinations.

pub use vk_go::path_clean as clean;

/// Go `path.Join`: empty elements are ignored; the result is cleaned; all empty gives `""`.
pub fn join(elems: &[&str]) -> String {
    let non_empty: Vec<&str> = elems.iter().copied().filter(|e| !e.is_empty()).collect();
    if non_empty.is_empty() {
        return String::new();
    }
    clean(&non_empty.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go() {
        for (input, want) in [
            ("", "."),
            ("/", "/"),
            ("a/b/../c", "a/c"),
            ("/../a", "/a"),
            ("../../a", "../../a"),
            ("a//b/./c/", "a/b/c"),
            ("a/..", "."),
            (
                "/vault/secrets//special/volume/foofile",
                "/vault/secrets/special/volume/foofile",
            ),
        ] {
            assert_eq!(clean(input), want, "{input}");
        }
    }

    #[test]
    fn join_matches_go() {
        assert_eq!(
            join(&["serviceaccount/somewhere", "token"]),
            "serviceaccount/somewhere/token"
        );
        assert_eq!(
            join(&["/vault/secrets", "/special/volume/foofile"]),
            "/vault/secrets/special/volume/foofile"
        );
        assert_eq!(
            join(&["/vault/secrets", "../etc/passwd"]),
            "/vault/etc/passwd"
        );
        assert_eq!(join(&["", "x"]), "x");
        assert_eq!(join(&["", ""]), "");
    }
}
