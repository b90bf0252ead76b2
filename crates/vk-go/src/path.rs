//! `path.Clean` (slash-separated paths, not the OS's).

/// Go `path.Clean`: the shortest equivalent path by purely lexical processing — repeated
/// slashes become one, `.` elements go, `..` removes the element before it (a rooted path
/// cannot go above `/`), no trailing slash except for `/`, and the empty result is `.`.
pub fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_owned();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            e => parts.push(e),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}
