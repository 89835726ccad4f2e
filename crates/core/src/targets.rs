//! The target list: codes read from a workbook (.xlsx, .xlsm, .xls, .ods) or a .csv/.txt file.
//!
//! First sheet, column A unless told otherwise; row 1 is a header when it reads as one; cells
//! trimmed; numbers without a trailing ".0"; empty cells and duplicates dropped (duplicates
//! counted). The list arrives as bytes: reading the file is the caller's business.

use std::collections::HashSet;
use std::io::Cursor;

use calamine::{Data, Reader};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::matcher::normalize;

/// The most codes a list may hold.
pub const MAX_CODES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetList {
    pub codes: Vec<String>,
    /// Cells dropped because an earlier cell held the same code.
    pub duplicates: usize,
    pub sheet: String,
    /// Column letter, `A` for the first.
    pub column: String,
    /// The header cell, when row 1 was read as a header.
    pub header: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the code list is not a workbook or a CSV/text file that can be read ({0})")]
    NotAWorkbook(String),
    #[error("the code list has no sheet named \"{name}\" (it has: {available})")]
    NoSuchSheet { name: String, available: String },
    #[error("the code list has no column \"{0}\" (give a letter such as A, a number from 1, or a header)")]
    NoSuchColumn(String),
    #[error("the code list has no codes in sheet \"{sheet}\", column {column}")]
    Empty { sheet: String, column: String },
    #[error("the code list has {0} codes; at most {MAX_CODES} are allowed")]
    TooMany(usize),
}

const HEADERS: &[&str] = &[
    "hole code",
    "hole codes",
    "code",
    "codes",
    "ma ho",
    "keyword",
    "keywords",
];

fn fold_header(s: &str) -> String {
    let stripped: String = s
        .nfd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .collect();
    stripped
        .to_lowercase()
        .replace(['_', '-'], " ")
        .replace('đ', "d")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a first-row cell reads as a header.
pub fn is_header(cell: &str) -> bool {
    HEADERS.contains(&fold_header(cell).as_str())
}

fn column_letter(mut idx: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (idx % 26) as u8);
        if idx < 26 {
            break;
        }
        idx = idx / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn parse_column_letters(s: &str) -> Option<usize> {
    if s.is_empty() || s.len() > 3 || !s.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut v = 0usize;
    for c in s.to_ascii_uppercase().bytes() {
        v = v * 26 + usize::from(c - b'A' + 1);
    }
    Some(v - 1)
}

/// Text of a cell as a code: trimmed; whole numbers without ".0".
fn cell_text(d: &Data) -> Option<String> {
    let s = match d {
        Data::Empty | Data::Error(_) => return None,
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                format!("{f}")
            }
        }
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        other => other.to_string().trim().to_string(),
    };
    (!s.is_empty()).then_some(s)
}

/// The column index, and whether it was named by its row-1 header (which is then a header).
fn pick_column(first_row: &[String], column: Option<&str>) -> Result<(usize, bool), TargetError> {
    let Some(col) = column.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok((0, false));
    };
    if let Ok(n) = col.parse::<usize>() {
        return if n >= 1 {
            Ok((n - 1, false))
        } else {
            Err(TargetError::NoSuchColumn(col.to_string()))
        };
    }
    if let Some(i) = first_row
        .iter()
        .position(|h| fold_header(h) == fold_header(col))
    {
        return Ok((i, true));
    }
    parse_column_letters(col)
        .map(|i| (i, false))
        .ok_or_else(|| TargetError::NoSuchColumn(col.to_string()))
}

fn collect(
    rows: Vec<Vec<String>>,
    sheet: String,
    column: Option<&str>,
) -> Result<TargetList, TargetError> {
    let first: Vec<String> = rows.first().cloned().unwrap_or_default();
    let (col, named_by_header) = pick_column(&first, column)?;
    let mut codes = Vec::new();
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    let mut header = None;
    for (r, row) in rows.into_iter().enumerate() {
        let Some(cell) = row.into_iter().nth(col) else {
            continue;
        };
        let cell = cell.trim().to_string();
        if cell.is_empty() {
            continue;
        }
        if r == 0 && (named_by_header || is_header(&cell)) {
            header = Some(cell);
            continue;
        }
        if seen.insert(normalize(&cell)) {
            codes.push(cell);
        } else {
            duplicates += 1;
        }
        if codes.len() > MAX_CODES {
            return Err(TargetError::TooMany(codes.len()));
        }
    }
    let column = column_letter(col);
    if codes.is_empty() {
        return Err(TargetError::Empty { sheet, column });
    }
    Ok(TargetList {
        codes,
        duplicates,
        sheet,
        column,
        header,
    })
}

fn is_text_name(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    lower.ends_with(".csv") || lower.ends_with(".txt") || lower.ends_with(".tsv")
}

fn read_delimited(bytes: &[u8]) -> Result<Vec<Vec<String>>, TargetError> {
    let text = match std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)) {
        Ok(t) => t.to_string(),
        // Excel on Windows writes CSV in the ANSI code page: read it as Latin-1 rather than fail.
        Err(_) => bytes.iter().map(|b| *b as char).collect(),
    };
    if text.contains('\0') {
        return Err(TargetError::NotAWorkbook(
            "binary data in a text file".into(),
        ));
    }
    let first_line = text.lines().next().unwrap_or("");
    let delim = [b'\t', b';', b',']
        .into_iter()
        .max_by_key(|d| first_line.matches(*d as char).count())
        .unwrap_or(b',');
    let delim = if first_line.contains(delim as char) {
        delim
    } else {
        0x1f
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delim)
        .from_reader(text.as_bytes());
    let mut rows = vec![];
    for rec in reader.records() {
        let rec = rec.map_err(|e| TargetError::NotAWorkbook(e.to_string()))?;
        rows.push(rec.iter().map(|s| s.to_string()).collect());
    }
    Ok(rows)
}

/// Reads a code list. `file_name` tells CSV/text from workbooks; workbook formats are sniffed.
pub fn read_targets(
    bytes: &[u8],
    file_name: &str,
    sheet: Option<&str>,
    column: Option<&str>,
) -> Result<TargetList, TargetError> {
    if is_text_name(file_name) {
        let rows = read_delimited(bytes)?;
        return collect(rows, String::new(), column);
    }
    let mut wb = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec()))
        .map_err(|e| TargetError::NotAWorkbook(e.to_string()))?;
    let names = wb.sheet_names().to_vec();
    let name = match sheet.map(str::trim).filter(|s| !s.is_empty()) {
        None => names
            .first()
            .cloned()
            .ok_or_else(|| TargetError::NotAWorkbook("the workbook has no sheets".into()))?,
        Some(want) => names
            .iter()
            .find(|n| n.as_str() == want)
            .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(want)))
            .cloned()
            .or_else(|| {
                want.parse::<usize>()
                    .ok()
                    .and_then(|i| names.get(i.wrapping_sub(1)).cloned())
            })
            .ok_or_else(|| TargetError::NoSuchSheet {
                name: want.to_string(),
                available: names.join(", "),
            })?,
    };
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| TargetError::NotAWorkbook(e.to_string()))?;
    // Rows are read from the sheet's first row and column, wherever the used range starts.
    let (r0, c0) = range.start().unwrap_or((0, 0));
    let mut rows: Vec<Vec<String>> = vec![Vec::new(); r0 as usize];
    for row in range.rows() {
        let mut cells = vec![String::new(); c0 as usize];
        cells.extend(row.iter().map(|d| cell_text(d).unwrap_or_default()));
        rows.push(cells);
    }
    collect(rows, name, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_recognised() {
        for h in [
            "Hole Code",
            "CODE",
            "Mã hố",
            "ma_ho",
            "Ma Ho",
            "Keyword",
            "keywords",
        ] {
            assert!(is_header(h), "{h}");
        }
        for h in ["HC-1042", "Codex", "1042"] {
            assert!(!is_header(h), "{h}");
        }
    }

    #[test]
    fn csv_rules() {
        let csv = b"Hole Code,Note\n HC-1 ,a\nHC-2,b\nhc-1,dup\n,empty\n1042,n\n";
        let t = read_targets(csv, "list.csv", None, None).unwrap();
        assert_eq!(t.codes, vec!["HC-1", "HC-2", "1042"]);
        assert_eq!(t.duplicates, 1);
        assert_eq!(t.header.as_deref(), Some("Hole Code"));
        // "Note" does not read as a header: chosen by letter, it is data.
        let t = read_targets(csv, "list.csv", None, Some("B")).unwrap();
        assert_eq!(t.codes, vec!["Note", "a", "b", "dup", "empty", "n"]);
        let t = read_targets(csv, "list.csv", None, Some("note")).unwrap();
        assert_eq!(t.column, "B");
        assert_eq!(t.header.as_deref(), Some("Note"));
        assert_eq!(t.codes, vec!["a", "b", "dup", "empty", "n"]);
        let t = read_targets(b"HC-9\nHC-8\n", "codes.txt", None, None).unwrap();
        assert_eq!(t.codes, vec!["HC-9", "HC-8"]);
        assert_eq!(t.header, None);
    }

    #[test]
    fn bad_lists_are_clear_errors() {
        assert!(matches!(
            read_targets(b"", "x.csv", None, None),
            Err(TargetError::Empty { .. })
        ));
        assert!(matches!(
            read_targets(b"Code\n", "x.csv", None, None),
            Err(TargetError::Empty { .. })
        ));
        assert!(matches!(
            read_targets(b"<html>not a workbook", "x.xlsx", None, None),
            Err(TargetError::NotAWorkbook(_))
        ));
        let many: String = (0..MAX_CODES + 1).map(|i| format!("C-{i}\n")).collect();
        let r = read_targets(many.as_bytes(), "x.txt", None, None);
        assert!(matches!(r, Err(TargetError::TooMany(_))), "{r:?}");
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(parse_column_letters("ab"), Some(27));
    }
}

#[cfg(test)]
mod workbook_tests {
    use super::*;

    fn xlsx(
        cells: &[(u32, u16, &str)],
        numbers: &[(u32, u16, f64)],
        second_sheet: bool,
    ) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (r, c, v) in cells {
            ws.write_string(*r, *c, *v).unwrap();
        }
        for (r, c, v) in numbers {
            ws.write_number(*r, *c, *v).unwrap();
        }
        if second_sheet {
            let ws = wb.add_worksheet();
            ws.set_name("Holes").unwrap();
            ws.write_string(0, 0, "Mã hố").unwrap();
            ws.write_string(1, 0, "P-1").unwrap();
        }
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn xlsx_rules() {
        let b = xlsx(
            &[
                (0, 0, "Hole Code"),
                (1, 0, "  HC-1042 "),
                (2, 0, "HC-1042"),
                (4, 0, "PEN-20-0033"),
            ],
            &[(3, 0, 1042.0), (5, 0, 12.5)],
            true,
        );
        let t = read_targets(&b, "codes.xlsx", None, None).unwrap();
        assert_eq!(t.codes, vec!["HC-1042", "1042", "PEN-20-0033", "12.5"]);
        assert_eq!(t.duplicates, 1);
        assert_eq!(t.header.as_deref(), Some("Hole Code"));
        assert_eq!(t.sheet, "Sheet1");
        let t = read_targets(&b, "codes.xlsx", Some("holes"), None).unwrap();
        assert_eq!(
            (t.codes, t.header.as_deref()),
            (vec!["P-1".to_string()], Some("Mã hố"))
        );
        let t = read_targets(&b, "codes.xlsx", Some("2"), None).unwrap();
        assert_eq!(t.sheet, "Holes");
        assert!(matches!(
            read_targets(&b, "codes.xlsx", Some("Nope"), None),
            Err(TargetError::NoSuchSheet { .. })
        ));
        // Row 1 that is not a header is data; a sheet starting lower down still counts from row 1.
        let b = xlsx(&[(2, 1, "HC-1"), (3, 1, "HC-2")], &[], false);
        let t = read_targets(&b, "codes.xlsm", None, Some("B")).unwrap();
        assert_eq!(t.codes, vec!["HC-1", "HC-2"]);
        assert!(matches!(
            read_targets(&b, "codes.xlsx", None, None),
            Err(TargetError::Empty { .. })
        ));
    }
}
