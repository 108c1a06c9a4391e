//! Paths inside a repository: relative, `/`-separated, never above the root.

/// Joins `path` onto the directory `base` (both inside the repository) and
/// normalises `.` and `..`.
///
/// # Errors
/// A message when the path is absolute, empty, or climbs out of the
/// repository.
pub fn join(base: &str, path: &str) -> Result<String, String> {
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    let drive = path
        .as_bytes()
        .get(1..3)
        .is_some_and(|s| s == b":\\" || s == b":/");
    if path.starts_with('/') || path.starts_with('\\') || drive {
        return Err(format!(
            "\"{path}\" is absolute; paths are relative and stay inside the repository"
        ));
    }
    let mut parts: Vec<&str> = base
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("\"{path}\" leaves the repository"));
                }
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(format!("\"{path}\" names the repository root, not a file"));
    }
    Ok(parts.join("/"))
}

/// The directory part of a repository path (`""` at the root).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_normalises_inside_the_repository() {
        assert_eq!(join("infra", "stacks/../t.yaml").unwrap(), "infra/t.yaml");
        assert_eq!(join("", "./a/b.yaml").unwrap(), "a/b.yaml");
        assert_eq!(join("infra", "../t.yaml").unwrap(), "t.yaml");
    }

    #[test]
    fn refuses_escapes_and_absolute_paths() {
        assert!(join("", "../x").is_err());
        assert!(join("a", "../../x").is_err());
        assert!(join("", "/etc/passwd").is_err());
        assert!(join("", "C:\\x").is_err());
        assert!(join("a", "..").is_err());
    }
}
