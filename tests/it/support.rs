//! Shared helpers for the integration tests.

use std::path::PathBuf;

/// The shared corpus of real AWS sample templates, next to the repository.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/cfn-templates")
}

/// Every template file in the corpus, sorted, as paths relative to it.
pub fn corpus_templates() -> Vec<PathBuf> {
    let root = corpus_dir();
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("corpus directory is readable") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json" | "template")
            ) {
                out.push(path.strip_prefix(&root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}
