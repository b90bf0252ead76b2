//! Template `user`/`group`/`uid`/`gid`: the owner of a written destination, resolved once at
//! start-up. A name is looked up in `/etc/passwd` / `/etc/group` (the image has no NSS); a
//! number is taken as an id, as consul-template does.

use std::path::Path;

use crate::files::Owner;

/// The owner a template asks for; `None` when it sets none of the four keys. `user`/`group`
/// win over the older `uid`/`gid`. The error text names the key.
pub(crate) fn resolve(t: &vk_agent_config::Template) -> Result<Option<Owner>, (String, String)> {
    let uid = match (&t.user, t.uid) {
        (Some(u), _) if !u.is_empty() => Some(lookup("user", u, Path::new("/etc/passwd"))?),
        (_, Some(id)) => Some(id_value("uid", id)?),
        _ => None,
    };
    let gid = match (&t.group, t.gid) {
        (Some(g), _) if !g.is_empty() => Some(lookup("group", g, Path::new("/etc/group"))?),
        (_, Some(id)) => Some(id_value("gid", id)?),
        _ => None,
    };
    Ok((uid.is_some() || gid.is_some()).then_some(Owner { uid, gid }))
}

/// `-1` means "unchanged" as in chown(2); other values must fit an id.
fn id_value(key: &str, id: i64) -> Result<u32, (String, String)> {
    u32::try_from(id)
        .ok()
        .filter(|v| *v != u32::MAX)
        .ok_or_else(|| (key.to_string(), format!("{id} is not a valid id")))
}

/// A name from a passwd/group-format file (third field is the id), or a decimal id.
fn lookup(key: &str, name: &str, db: &Path) -> Result<u32, (String, String)> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(id);
    }
    let text = std::fs::read_to_string(db).map_err(|e| {
        (
            key.to_string(),
            format!("cannot look up {name:?}: reading {}: {e}", db.display()),
        )
    })?;
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let mut fields = l.split(':');
            (fields.next() == Some(name))
                .then(|| fields.nth(1).and_then(|id| id.parse::<u32>().ok()))
                .flatten()
        })
        .ok_or_else(|| {
            (
                key.to_string(),
                format!("unknown {key} {name:?} (not in {})", db.display()),
            )
        })
}
