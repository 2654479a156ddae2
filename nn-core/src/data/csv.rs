//! Numeric CSV files, such as the ones scikit-learn ships.

use std::path::Path;
use std::string::String;
use std::vec::Vec;

use super::{read_bytes, DataError};

/// What separates the cells of a CSV row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Separator {
    /// One character, such as `,` or `;`. Spaces around a cell are ignored.
    Char(char),
    /// Any run of spaces and tabs, as NumPy's `loadtxt` reads by default.
    Whitespace,
}

impl Separator {
    /// A comma.
    pub const COMMA: Separator = Separator::Char(',');

    fn splits_at(self, c: char) -> bool {
        match self {
            Separator::Char(s) => c == s,
            Separator::Whitespace => c == ' ' || c == '\t',
        }
    }
}

/// Reads a numeric CSV file (gzip or not) in which every row has `C` cells, into rows of
/// `f32`. Blank lines are skipped; lines count from 1 in errors. At most
/// [`READ_LIMIT`](super::READ_LIMIT) bytes (1 GiB after decompression) are read; a
/// longer file is a [`DataError::TooLarge`].
///
/// ```
/// use nn::data::{read_csv, Separator, DataError};
///
/// let path = std::env::temp_dir().join(format!("nn-doc-csv-{}", std::process::id()));
/// std::fs::write(&path, "1,2,3\n4, 5 ,6e1\n")?;
/// assert_eq!(read_csv::<3>(&path, Separator::COMMA)?, [[1.0, 2.0, 3.0], [4.0, 5.0, 60.0]]);
///
/// std::fs::write(&path, "0.5 7\n-1   2.25\n")?;
/// assert_eq!(read_csv::<2>(&path, Separator::Whitespace)?, [[0.5, 7.0], [-1.0, 2.25]]);
///
/// std::fs::write(&path, "1,2\n3,x\n")?;
/// let err = read_csv::<2>(&path, Separator::COMMA).unwrap_err();
/// assert!(matches!(err, DataError::Parse { line: 2, column: 2, .. }));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_csv<const C: usize>(
    path: impl AsRef<Path>,
    sep: Separator,
) -> Result<Vec<[f32; C]>, DataError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    // Spreadsheet programs often start UTF-8 text with a byte-order mark.
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let mut rows = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let text = match core::str::from_utf8(line) {
            Ok(t) => t.trim(),
            Err(_) => {
                return Err(DataError::Parse {
                    path: path.to_path_buf(),
                    line: line_no,
                    column: 1,
                    text: String::from_utf8_lossy(line).into_owned(),
                })
            }
        };
        if text.is_empty() {
            continue;
        }
        let cells = text
            .split(|c| sep.splits_at(c))
            .map(str::trim)
            .filter(|cell| sep != Separator::Whitespace || !cell.is_empty());
        let mut row = [0.0f32; C];
        let mut found = 0;
        for (j, cell) in cells.enumerate() {
            found = j + 1;
            if let Some(slot) = row.get_mut(j) {
                *slot = cell.parse().map_err(|_| DataError::Parse {
                    path: path.to_path_buf(),
                    line: line_no,
                    column: j + 1,
                    text: cell.into(),
                })?;
            }
        }
        if found != C {
            return Err(DataError::Ragged {
                path: path.to_path_buf(),
                line: line_no,
                expected: C,
                found,
            });
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(rows)
}
