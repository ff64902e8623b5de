//! Embeds the project's `ruleset/` folder so `vigil serve` can lay out a new home from the binary
//! alone (the .deb and a bare `cargo install` have no source tree).

use std::fmt::Write as _;
use std::path::Path;

fn collect(dir: &Path, root: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect(&path, root, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").map_err(std::io::Error::other)?;
    let root = Path::new(&manifest).join("ruleset");
    println!("cargo:rerun-if-changed=ruleset");
    let mut files = Vec::new();
    collect(&root, &root, &mut files)?;
    let mut code = String::from("/// Files of the project's `ruleset/` folder: (path relative to it, content).\n");
    code.push_str("pub const FILES: &[(&str, &[u8])] = &[\n");
    for rel in &files {
        let abs = root.join(rel);
        writeln!(code, "    ({rel:?}, include_bytes!({:?})),", abs.to_string_lossy()).map_err(std::io::Error::other)?;
    }
    code.push_str("];\n");
    let out = std::env::var("OUT_DIR").map_err(std::io::Error::other)?;
    std::fs::write(Path::new(&out).join("ruleset_files.rs"), code)
}
