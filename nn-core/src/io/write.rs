//! Writing a file so that it is never left half-written: a temporary file created beside
//! it, exclusively, then renamed into place.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::string::ToString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::vec::Vec;

use nn_safetensors::Dtype;
use safetensors::tensor::TensorView;

use super::{Entry, WeightsError};

/// Writes `entries` as a safetensors file at `path`, atomically (see [`save`]).
pub(super) fn write_file(path: &Path, entries: &[Entry]) -> Result<(), WeightsError> {
    check_names(path, entries)?;
    let mut views = Vec::with_capacity(entries.len());
    for e in entries {
        let dtype = match e.dtype {
            Dtype::I64 => safetensors::Dtype::I64,
            Dtype::F64 => safetensors::Dtype::F64,
            _ => safetensors::Dtype::F32,
        };
        let view = TensorView::new(dtype, e.shape.clone(), &e.bytes).map_err(|err| {
            WeightsError::Unwritable {
                path: path.to_path_buf(),
                tensor: e.key.clone(),
                reason: err.to_string(),
            }
        })?;
        views.push((e.key.as_str(), view));
    }
    let bytes = safetensors::serialize(views, None).map_err(|err| WeightsError::Corrupt {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })?;
    let (dest, keep) = destination(path)?;
    let (mut f, tmp) = temporary_beside(&dest).map_err(|source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // Errors name the destination; those on the temporary file say which it was.
    let on_tmp = |e: std::io::Error| {
        std::io::Error::new(
            e.kind(),
            std::format!("temporary file {}: {e}", tmp.display()),
        )
    };
    let written = (|| {
        if let Some(permissions) = keep {
            // Before any data, so that a private file's weights are never readable by others.
            f.set_permissions(permissions).map_err(on_tmp)?;
        }
        f.write_all(&bytes).map_err(on_tmp)?;
        f.sync_all().map_err(on_tmp)?;
        fs::rename(&tmp, &dest)
    })();
    if let Err(source) = written {
        // This call created `tmp` exclusively: removing it removes nothing of anyone else's.
        let _ = fs::remove_file(&tmp);
        return Err(WeightsError::Io {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(())
}

/// Refuses what safetensors cannot hold, before anything is written: a tensor named
/// `__metadata__` (the format's own key, which every reader takes for the metadata) and
/// two tensors of one name (a layer that visits a name twice).
fn check_names(path: &Path, entries: &[Entry]) -> Result<(), WeightsError> {
    let unwritable = |tensor: &str, reason: &str| WeightsError::Unwritable {
        path: path.to_path_buf(),
        tensor: tensor.to_string(),
        reason: reason.to_string(),
    };
    if entries.iter().any(|e| e.key == "__metadata__") {
        return Err(unwritable(
            "__metadata__",
            "has the name safetensors keeps for the file's metadata; rename it",
        ));
    }
    let mut names: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(unwritable(
            w[0],
            "is named twice; every tensor of a state dict needs a name of its own",
        ));
    }
    Ok(())
}

/// A new file beside `dest`, created exclusively under a name no other call or process
/// uses: a name that already exists (a leftover, or someone else's file) is skipped for
/// the next, never opened or removed.
fn temporary_beside(dest: &Path) -> std::io::Result<(fs::File, PathBuf)> {
    // Unique per call, so that saves from several threads never share a temporary file.
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let file_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last = None;
    for _ in 0..TEMPORARY_TRIES {
        let serial = SAVES.fetch_add(1, Ordering::Relaxed);
        let tmp = dest.with_file_name(std::format!(
            ".{file_name}.{}.{serial}.tmp",
            std::process::id()
        ));
        match fs::File::create_new(&tmp) {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(tmp),
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    std::format!("temporary file {}: {e}", tmp.display()),
                ))
            }
        }
    }
    let tried = last.map(|p| p.display().to_string()).unwrap_or_default();
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        std::format!("{TEMPORARY_TRIES} temporary names beside it exist already, the last {tried}"),
    ))
}

/// Temporary names [`temporary_beside`] tries before giving up.
const TEMPORARY_TRIES: u32 = 64;

/// Where [`save`] writes for `path`, and the permissions of the file it replaces (see
/// [`save`] for the rules).
fn destination(path: &Path) -> Result<(PathBuf, Option<fs::Permissions>), WeightsError> {
    let io = |source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((path.to_path_buf(), None))
        }
        Err(e) => return Err(io(e)),
    };
    let (dest, meta) = if meta.file_type().is_symlink() {
        let dest = fs::canonicalize(path).map_err(|e| {
            io(std::io::Error::new(
                e.kind(),
                std::format!("a symbolic link whose target cannot be reached: {e}"),
            ))
        })?;
        let meta = fs::metadata(&dest).map_err(io)?;
        (dest, meta)
    } else {
        (path.to_path_buf(), meta)
    };
    if !meta.is_file() {
        return Err(WeightsError::NotAFile {
            path: path.to_path_buf(),
            kind: nn_safetensors::file_kind(meta.file_type()),
        });
    }
    if meta.permissions().readonly() {
        return Err(WeightsError::ReadOnly {
            path: path.to_path_buf(),
        });
    }
    Ok((dest, Some(meta.permissions())))
}
