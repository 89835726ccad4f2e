//! The target list: codes read from a workbook (.xlsx, .xlsm, .xls, .ods) or a .csv/.txt file.
//!
//! First sheet, column A unless told otherwise; row 1 is a header when it reads as one; cells
//! trimmed; numbers without a trailing ".0"; empty cells and duplicates dropped (duplicates
//! counted). The list arrives as bytes: reading the file is the caller's business.
//!
//! A list comes from a user, so every bound is checked before anything it sizes is held: cells
//! are read one at a time (never the sheet as a dense rectangle, which one far cell makes
//! billions of cells wide), parts of a workbook are measured unpacked before they are parsed,
//! and the count of codes, their length and the rows are bounded, each with an error that
//! names the bound.

mod collect;
mod container;
mod ods;

use std::io::Cursor;

use calamine::{Data, Reader};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use collect::Collector;

/// The most codes a list may hold.
pub const MAX_CODES: usize = 100_000;
/// The longest code, in characters.
pub const MAX_CODE_CHARS: usize = 128;
/// The most rows read: a worksheet's own limit.
pub const MAX_ROWS: u64 = 1_048_576;
/// The largest list file.
pub const MAX_LIST_BYTES: usize = 64 * 1024 * 1024;

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
    #[error(
        "the code list has {0} codes; at most {MAX_CODES} are allowed: split it into several scans"
    )]
    TooMany(usize),
    #[error("row {row} of the code list holds a cell over {MAX_CODE_CHARS} characters, too long for a code: choose the column of codes, or shorten that cell")]
    CodeTooLong { row: u64 },
    #[error("the code list has data past row {MAX_ROWS}; at most {MAX_ROWS} rows are read: keep the codes in the first rows")]
    TooManyRows,
    #[error("the code list's {part} is over {limit_mib} MiB unpacked; at most that is read: save a workbook that holds only the codes")]
    TooLarge { part: String, limit_mib: u64 },
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

fn column_letter(idx: u64) -> String {
    let mut idx = idx;
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

/// Text of a cell as a code: trimmed; whole numbers without ".0".
fn cell_text(d: &Data) -> Option<String> {
    let s = match d {
        Data::Empty | Data::Error(_) => return None,
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        other => other.to_string().trim().to_string(),
    };
    (!s.is_empty()).then_some(s)
}

fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn is_text_name(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    lower.ends_with(".csv") || lower.ends_with(".txt") || lower.ends_with(".tsv")
}

/// CSV or text, one record at a time.
fn read_delimited(bytes: &[u8], column: Option<&str>) -> Result<TargetList, TargetError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let latin1: String;
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        // Excel on Windows writes CSV in the ANSI code page: read it as Latin-1 rather than fail.
        Err(_) => {
            latin1 = bytes.iter().map(|b| *b as char).collect();
            &latin1
        }
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
    let mut collector = Collector::new(column);
    let mut record = csv::StringRecord::new();
    let mut row = 0u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(TargetError::NotAWorkbook(e.to_string())),
        }
        if row >= MAX_ROWS {
            return Err(TargetError::TooManyRows);
        }
        for (col, field) in record.iter().enumerate() {
            if collector.wants(col as u64) {
                collector.cell(row, 1, col as u64, 1, field)?;
            }
        }
        row += 1;
    }
    collector.finish(String::new())
}

/// The sheet asked for: by name, by name in any case, or by number from 1.
fn pick_sheet(names: &[String], sheet: Option<&str>) -> Result<String, TargetError> {
    match sheet.map(str::trim).filter(|s| !s.is_empty()) {
        None => names
            .first()
            .cloned()
            .ok_or_else(|| TargetError::NotAWorkbook("the workbook has no sheets".into())),
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
            }),
    }
}

/// .xlsx/.xlsm: the sheet's cells streamed one at a time.
fn read_xlsx(
    bytes: &[u8],
    sheet: Option<&str>,
    column: Option<&str>,
) -> Result<TargetList, TargetError> {
    let bad = |e: calamine::XlsxError| TargetError::NotAWorkbook(e.to_string());
    let mut wb: calamine::Xlsx<_> = calamine::Xlsx::new(Cursor::new(bytes)).map_err(bad)?;
    let name = pick_sheet(wb.sheet_names().as_slice(), sheet)?;
    let mut cells = wb.worksheet_cells_reader(&name).map_err(bad)?;
    let mut collector = Collector::new(column);
    while let Some(cell) = cells.next_cell().map_err(bad)? {
        let (row, col) = cell.get_position();
        if !collector.wants(u64::from(col)) {
            continue;
        }
        let data: Data = cell.get_value().clone().into();
        if let Some(text) = cell_text(&data) {
            collector.cell(u64::from(row), 1, u64::from(col), 1, &text)?;
        }
    }
    collector.finish(name)
}

/// .xls: every sheet is read whole by calamine at open, so the file is checked first
/// (`container::check_xls`): no sheet may span more cells than it can hold.
fn read_xls(
    bytes: &[u8],
    sheet: Option<&str>,
    column: Option<&str>,
) -> Result<TargetList, TargetError> {
    container::check_xls(bytes)?;
    let mut wb: calamine::Xls<_> = calamine::Xls::new(Cursor::new(bytes))
        .map_err(|e| TargetError::NotAWorkbook(e.to_string()))?;
    let name = pick_sheet(wb.sheet_names().as_slice(), sheet)?;
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| TargetError::NotAWorkbook(e.to_string()))?;
    let mut collector = Collector::new(column);
    let (r0, c0) = range.start().unwrap_or((0, 0));
    for (row, col, data) in range.used_cells() {
        let (row, col) = (u64::from(r0) + row as u64, u64::from(c0) + col as u64);
        if let Some(text) = cell_text(data).filter(|_| collector.wants(col)) {
            collector.cell(row, 1, col, 1, &text)?;
        }
    }
    collector.finish(name)
}

/// Reads a code list. `file_name` tells CSV/text from workbooks; workbook formats are sniffed.
pub fn read_targets(
    bytes: &[u8],
    file_name: &str,
    sheet: Option<&str>,
    column: Option<&str>,
) -> Result<TargetList, TargetError> {
    if bytes.len() > MAX_LIST_BYTES {
        return Err(TargetError::TooLarge {
            part: "file".into(),
            limit_mib: (MAX_LIST_BYTES >> 20) as u64,
        });
    }
    if is_text_name(file_name) {
        return read_delimited(bytes, column);
    }
    // The readers below are another crate's; a file that trips one of its assertions is a
    // damaged workbook, not a reason to end the process.
    let read = || match container::kind(bytes)? {
        container::Kind::Xlsx => read_xlsx(bytes, sheet, column),
        container::Kind::Ods => ods::read(bytes, sheet, column),
        container::Kind::Xls => read_xls(bytes, sheet, column),
    };
    std::panic::catch_unwind(read)
        .unwrap_or_else(|_| Err(TargetError::NotAWorkbook("the workbook is damaged".into())))
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
        assert_eq!(collect::parse_column_letters("ab"), Some(27));
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
