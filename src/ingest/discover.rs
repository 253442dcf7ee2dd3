//! Finding the input files: named files, folders walked recursively, `-` for stdin.

use std::path::{Path, PathBuf};

use super::decode::device::{DirDevice, device_from_path};
use crate::error::{Error, Result};

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// `None` reads standard input.
    pub path: Option<PathBuf>,
    /// The name shown to the user and stored as `source_file`.
    pub name: String,
    /// Device id from the path (README "Input": the path).
    pub path_device: Option<String>,
    /// Size in bytes, when known before reading (a named file); a hint
    /// only: the file is read to its end.
    pub size: Option<u64>,
}

/// File name endings read when walking a folder (a named file is always read).
const EXTENSIONS: &[&str] = &["json", "jsonl", "ndjson", "gz"];

fn wanted(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

fn hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

fn walk(dir: &Path, out: &mut Vec<InputFile>, depth: usize) -> Result<()> {
    if depth > 64 {
        return Ok(());
    }
    // Names are taken once: sorting by `DirEntry::file_name` would allocate
    // on every comparison, which shows on folders of 20,000 pages. The file
    // type comes from the directory listing itself.
    let mut entries: Vec<(String, std::fs::FileType)> = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        if let Ok(name) = e.file_name().into_string()
            && !hidden(&name)
        {
            let ft = e.file_type().map_err(|err| Error::io(e.path(), err))?;
            entries.push((name, ft));
        }
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let dir_parts: Vec<&str> = dir
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect();
    let devices = DirDevice::of(&dir_parts);
    for (name, ft) in entries {
        let path = dir.join(&name);
        if ft.is_dir() {
            walk(&path, out, depth + 1)?;
        } else if wanted(Path::new(&name)) && (ft.is_file() || (ft.is_symlink() && path.is_file()))
        {
            // No stat per file here: workers read files without asking
            // their size, while other files are being decoded.
            out.push(InputFile {
                name: path
                    .to_str()
                    .map_or_else(|| path.display().to_string(), str::to_owned),
                path_device: devices.device(&name),
                path: Some(path),
                size: None,
            });
        }
    }
    Ok(())
}

fn file(path: PathBuf, size: Option<u64>) -> InputFile {
    InputFile {
        name: path.display().to_string(),
        path_device: device_from_path(&path),
        path: Some(path),
        size,
    }
}

/// About how many bytes `files` hold: the sizes known, and for the rest the
/// mean size of up to 64 of them spread over the list (a stat each), times
/// their number. Sizes the dedup index before reading.
pub fn estimate_bytes(files: &[InputFile]) -> u64 {
    let known: u64 = files.iter().filter_map(|f| f.size).sum();
    let unknown: Vec<&Path> = files
        .iter()
        .filter(|f| f.size.is_none())
        .filter_map(|f| f.path.as_deref())
        .collect();
    if unknown.is_empty() {
        return known;
    }
    let step = unknown.len().div_ceil(64);
    let sample: Vec<u64> = unknown
        .iter()
        .step_by(step)
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .collect();
    if sample.is_empty() {
        return known;
    }
    let mean = sample.iter().sum::<u64>() / sample.len() as u64;
    known.saturating_add(mean.saturating_mul(unknown.len() as u64))
}

/// Lists the files to read, in the order they are read (named order; folders
/// sorted by name). Later files win ties in dedup.
pub fn discover(inputs: &[PathBuf]) -> Result<Vec<InputFile>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            out.push(InputFile {
                path: None,
                name: "<stdin>".into(),
                path_device: None,
                size: None,
            });
            continue;
        }
        let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
        if meta.is_dir() {
            walk(input, &mut out, 0)?;
        } else {
            out.push(file(input.clone(), meta.is_file().then_some(meta.len())));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walked_files_get_the_devices_their_paths_name() {
        let root = std::env::temp_dir().join(format!("fleetops-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let files = [
            "devices/d1.json",
            "devices/device_id=d2.ndjson",
            "device_id=d3/x/p.json",
            "device_id=d3/device_id=d4/p.json.gz",
            "other/p.json",
            "DEVICES/d5.jsonl",
        ];
        for f in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().expect("has a folder")).expect("mkdir");
            std::fs::write(&p, b"[]").expect("write");
        }
        let found = discover(std::slice::from_ref(&root)).expect("walks");
        assert_eq!(found.len(), files.len());
        for f in &found {
            let path = f.path.as_deref().expect("a file");
            assert_eq!(f.path_device, device_from_path(path), "{}", f.name);
            assert_eq!(f.name, path.display().to_string());
        }
        let devices: Vec<Option<&str>> = found.iter().map(|f| f.path_device.as_deref()).collect();
        assert_eq!(
            devices,
            [
                Some("d5"),
                Some("d4"),
                Some("d3"),
                Some("d1"),
                Some("d2"),
                None
            ]
        );
        std::fs::remove_dir_all(&root).expect("clean up");
    }
}
