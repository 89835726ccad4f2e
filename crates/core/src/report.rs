//! The Excel report, streamed: rows go out as results arrive (constant-memory worksheets), so
//! 100,000 rows cost no more memory than ten. Every value that comes from a file or a user is
//! written as a string, never as a formula.
//!
//! rust_xlsxwriter's constant-memory mode spills each worksheet to a temporary file; where those
//! go is the caller's choice ([`ReportBuilder::new`]), the rest is bytes in, bytes out.

use std::collections::HashMap;
use std::io::{Seek, Write};
use std::path::Path;

use rust_xlsxwriter::{Format, Formula, Workbook, Worksheet, XlsxError};
use serde::{Deserialize, Serialize};

use crate::matcher::normalize;
use crate::result::{status_text, FileResult, Outcome};

/// Excel's limit on the characters of one cell.
const MAX_CELL: usize = 32_767;
/// Characters of paths kept for the `Codes` sheet, all codes together; past it, a code's cell
/// says how many more drawings it is in.
const MAX_CODE_PATHS_TOTAL: usize = 64 * 1024 * 1024;
/// Excel's limit on a string argument of a formula (HYPERLINK's link and text).
const MAX_HYPERLINK_ARG: usize = 255;

const RESULTS: usize = 0;
const CODES: usize = 1;
const ERRORS: usize = 2;
const SUMMARY: usize = 3;

#[derive(Debug, thiserror::Error)]
#[error("cannot write the report: {0}")]
pub struct ReportError(#[from] XlsxError);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportSummary {
    pub source: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration_s: f64,
    pub total_files: u64,
    pub processed: u64,
    pub matches: u64,
    pub errors: u64,
    pub skipped: u64,
    pub codes: u64,
    pub codes_found: u64,
    pub duplicates_dropped: u64,
    /// Files read that have pages without a text layer.
    pub needs_ocr: u64,
    pub version: String,
}

struct CodeStat {
    drawings: u64,
    paths: String,
    truncated: u64,
}

/// Builds the workbook row by row.
pub struct ReportBuilder {
    wb: Workbook,
    targets: Vec<String>,
    /// Normalised code to its index in `targets`.
    index: HashMap<String, usize>,
    stats: Vec<CodeStat>,
    /// Without a target list, codes are added as they are discovered.
    discover: bool,
    result_row: u32,
    error_row: u32,
    paths_kept: usize,
    header: Format,
    link: Format,
}

fn clip(s: &str) -> &str {
    if s.len() <= MAX_CELL {
        return s;
    }
    let mut end = MAX_CELL;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn headers(ws: &mut Worksheet, cols: &[(&str, f64)], fmt: &Format) -> Result<(), XlsxError> {
    for (i, (name, width)) in cols.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *name, fmt)?;
        ws.set_column_width(i as u16, *width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

impl ReportBuilder {
    /// `targets` in list order; empty for a scan without a list (codes are then discovered).
    /// `tempdir` holds constant-memory spill files.
    pub fn new(targets: &[String], tempdir: Option<&Path>) -> Result<ReportBuilder, ReportError> {
        let mut wb = Workbook::new();
        if let Some(dir) = tempdir {
            wb.set_tempdir(dir)?;
        }
        let header = Format::new().set_bold();
        let link = Format::new()
            .set_font_color("#0563C1")
            .set_underline(rust_xlsxwriter::FormatUnderline::Single);
        let ws = wb.add_worksheet_with_constant_memory();
        ws.set_name("Processing Results")?;
        headers(
            ws,
            &[
                ("File Name", 40.0),
                ("Hole Codes Found", 40.0),
                ("Status", 12.0),
                ("PDF Link", 50.0),
                ("Path", 60.0),
                ("Pages", 30.0),
                ("OCR", 6.0),
            ],
            &header,
        )?;
        let ws = wb.add_worksheet_with_constant_memory();
        ws.set_name("Codes")?;
        let ws = wb.add_worksheet_with_constant_memory();
        ws.set_name("Errors")?;
        headers(
            ws,
            &[("Path", 60.0), ("File Name", 40.0), ("Error", 80.0)],
            &header,
        )?;
        let ws = wb.add_worksheet_with_constant_memory();
        ws.set_name("Summary")?;
        let mut index = HashMap::new();
        for (i, t) in targets.iter().enumerate() {
            index.entry(normalize(t)).or_insert(i);
        }
        let stats = targets
            .iter()
            .map(|_| CodeStat {
                drawings: 0,
                paths: String::new(),
                truncated: 0,
            })
            .collect();
        Ok(ReportBuilder {
            wb,
            targets: targets.to_vec(),
            index,
            stats,
            discover: targets.is_empty(),
            result_row: 1,
            error_row: 1,
            paths_kept: 0,
            header,
            link,
        })
    }

    /// A clickable link. Worksheet hyperlink records are held in memory until the workbook is
    /// saved (about 1.5 KB each), so links are written as `HYPERLINK` formulas instead, which
    /// stream like any cell. The link and its text are string literals inside the formula with
    /// quotes doubled: nothing from a file name can become formula syntax.
    fn write_link(
        ws: &mut Worksheet,
        row: u32,
        col: u16,
        link: &str,
        text: &str,
        fmt: &Format,
    ) -> Result<(), XlsxError> {
        let clickable = link.starts_with("http://")
            || link.starts_with("https://")
            || link.starts_with("file://");
        if clickable
            && link.chars().count() <= MAX_HYPERLINK_ARG
            && text.chars().count() <= MAX_HYPERLINK_ARG
        {
            let quote = |s: &str| s.replace('"', "\"\"");
            let f = Formula::new(format!(
                "=HYPERLINK(\"{}\",\"{}\")",
                quote(link),
                quote(text)
            ))
            .set_result(text);
            ws.write_formula_with_format(row, col, f, fmt)?;
        } else {
            ws.write_string(row, col, clip(link))?;
        }
        Ok(())
    }

    /// Adds one file's result. Files with codes go to `Processing Results` (every read file
    /// does when `report_all` is set), unreadable ones to `Errors`.
    pub fn add(&mut self, r: &FileResult, report_all: bool) -> Result<(), ReportError> {
        match &r.outcome {
            Outcome::Error { reason } => {
                let ws = self.wb.worksheet_from_index(ERRORS)?;
                ws.write_string(self.error_row, 0, clip(&r.file.path))?;
                ws.write_string(self.error_row, 1, clip(r.file.file_name()))?;
                ws.write_string(self.error_row, 2, clip(reason))?;
                self.error_row += 1;
            }
            Outcome::Read {
                codes, pages, ocr, ..
            } => {
                for code in codes {
                    let key = normalize(code);
                    let idx = match self.index.get(&key) {
                        Some(i) => *i,
                        None if self.discover => {
                            self.targets.push(code.clone());
                            self.stats.push(CodeStat {
                                drawings: 0,
                                paths: String::new(),
                                truncated: 0,
                            });
                            self.index.insert(key, self.targets.len() - 1);
                            self.targets.len() - 1
                        }
                        None => continue,
                    };
                    let st = &mut self.stats[idx];
                    st.drawings += 1;
                    if st.paths.len() + r.file.path.len() + 2 < MAX_CELL - 64
                        && self.paths_kept + r.file.path.len() <= MAX_CODE_PATHS_TOTAL
                    {
                        self.paths_kept += r.file.path.len() + 2;
                        if !st.paths.is_empty() {
                            st.paths.push_str(", ");
                        }
                        st.paths.push_str(&r.file.path);
                    } else {
                        st.truncated += 1;
                    }
                }
                if codes.is_empty() && !report_all {
                    return Ok(());
                }
                let link = crate::protocol::first_page_link(&r.file.link, codes, pages);
                let pages_text = codes
                    .iter()
                    .filter_map(|c| {
                        pages.get(c).map(|p| {
                            format!(
                                "{c}: {}",
                                p.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                            )
                        })
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let row = self.result_row;
                let fmt = self.link.clone();
                let ws = self.wb.worksheet_from_index(RESULTS)?;
                ws.write_string(row, 0, clip(r.file.file_name()))?;
                ws.write_string(row, 1, clip(&codes.join(", ")))?;
                ws.write_string(row, 2, status_text(codes.len()))?;
                Self::write_link(ws, row, 3, &link, &link, &fmt)?;
                ws.write_string(row, 4, clip(&r.file.path))?;
                ws.write_string(row, 5, clip(&pages_text))?;
                ws.write_string(row, 6, if *ocr { "YES" } else { "NO" })?;
                self.result_row += 1;
            }
        }
        Ok(())
    }

    /// Codes found in at least one drawing, and the others, in list order.
    pub fn found_split(&self) -> (Vec<String>, Vec<String>) {
        let mut found = vec![];
        let mut not_found = vec![];
        for (t, s) in self.targets.iter().zip(&self.stats) {
            if s.drawings > 0 {
                found.push(t.clone());
            } else {
                not_found.push(t.clone());
            }
        }
        (found, not_found)
    }

    /// Writes the `Codes` and `Summary` sheets and the workbook.
    pub fn finish<W: Write + Seek + Send>(
        mut self,
        summary: &ReportSummary,
        out: W,
    ) -> Result<(), ReportError> {
        let header = self.header.clone();
        let ws = self.wb.worksheet_from_index(CODES)?;
        headers(
            ws,
            &[
                ("Hole Code", 30.0),
                ("Found", 8.0),
                ("Drawings", 10.0),
                ("Paths", 100.0),
            ],
            &header,
        )?;
        for (i, (t, s)) in self.targets.iter().zip(&self.stats).enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, clip(t))?;
            ws.write_string(row, 1, if s.drawings > 0 { "YES" } else { "NO" })?;
            ws.write_number(row, 2, s.drawings as f64)?;
            let mut paths = s.paths.clone();
            if s.truncated > 0 {
                paths.push_str(&format!(", … and {} more", s.truncated));
            }
            ws.write_string(row, 3, clip(&paths))?;
        }
        let ws = self.wb.worksheet_from_index(SUMMARY)?;
        ws.set_column_width(0, 24)?;
        ws.set_column_width(1, 60)?;
        let text_rows: [(&str, String); 4] = [
            ("Source", summary.source.clone()),
            ("Started", summary.started_at.clone()),
            ("Finished", summary.finished_at.clone()),
            ("isoscan version", summary.version.clone()),
        ];
        let num_rows: [(&str, f64); 11] = [
            ("Duration (s)", (summary.duration_s * 10.0).round() / 10.0),
            ("Files seen", summary.total_files as f64),
            ("Files processed", summary.processed as f64),
            ("Files with a match", summary.matches as f64),
            ("Files with errors", summary.errors as f64),
            ("Files skipped", summary.skipped as f64),
            ("Codes in list", summary.codes as f64),
            ("Codes found", summary.codes_found as f64),
            (
                "Codes not found",
                summary.codes.saturating_sub(summary.codes_found) as f64,
            ),
            ("Duplicates dropped", summary.duplicates_dropped as f64),
            (
                "Files without a text layer (need OCR)",
                summary.needs_ocr as f64,
            ),
        ];
        let mut row = 0;
        for (k, v) in text_rows.iter() {
            ws.write_string_with_format(row, 0, *k, &header)?;
            ws.write_string(row, 1, clip(v))?;
            row += 1;
        }
        for (k, v) in num_rows.iter() {
            ws.write_string_with_format(row, 0, *k, &header)?;
            ws.write_number(row, 1, *v)?;
            row += 1;
        }
        self.wb.save_to_writer(out)?;
        Ok(())
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` of a Unix time in milliseconds.
pub fn format_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::FileRef;
    use calamine::{Data, Reader, Xlsx};
    use std::collections::BTreeMap;

    fn read(codes: &[&str], pages: &[(&str, Vec<u32>)], path: &str) -> FileResult {
        FileResult {
            file: FileRef {
                id: None,
                path: path.into(),
                size: None,
                link: format!("file:///d/{path}"),
            },
            outcome: Outcome::Read {
                codes: codes.iter().map(|c| c.to_string()).collect(),
                pages: pages
                    .iter()
                    .map(|(c, p)| (c.to_string(), p.clone()))
                    .collect::<BTreeMap<_, _>>(),
                ocr: false,
                needs_ocr: vec![],
            },
        }
    }

    #[test]
    fn workbook_reads_back() {
        let targets: Vec<String> = ["HC-1", "HC-2", "=SUM(1,2)"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut b = ReportBuilder::new(&targets, None).unwrap();
        b.add(
            &read(
                &["HC-1", "HC-2"],
                &[("HC-1", vec![1]), ("HC-2", vec![1, 3])],
                "a/ISO 1.pdf",
            ),
            false,
        )
        .unwrap();
        b.add(&read(&[], &[], "a/empty.pdf"), false).unwrap();
        b.add(
            &read(
                &["HC-1"],
                &[("HC-1", vec![2])],
                "b/=HYPERLINK(\"evil\").pdf",
            ),
            false,
        )
        .unwrap();
        let err = FileResult {
            file: FileRef {
                id: None,
                path: "c/bad.pdf".into(),
                size: None,
                link: String::new(),
            },
            outcome: Outcome::Error {
                reason: "encrypted: a password is required".into(),
            },
        };
        b.add(&err, false).unwrap();
        assert_eq!(
            b.found_split(),
            (
                vec!["HC-1".to_string(), "HC-2".to_string()],
                vec!["=SUM(1,2)".to_string()]
            )
        );
        let mut buf = std::io::Cursor::new(Vec::new());
        b.finish(
            &ReportSummary {
                source: "/d".into(),
                matches: 2,
                ..Default::default()
            },
            &mut buf,
        )
        .unwrap();
        let mut wb: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(buf.into_inner())).unwrap();
        assert_eq!(
            wb.sheet_names(),
            vec!["Processing Results", "Codes", "Errors", "Summary"]
        );
        let r = wb.worksheet_range("Processing Results").unwrap();
        let rows: Vec<Vec<String>> = r
            .rows()
            .map(|row| row.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(
            rows[0],
            vec![
                "File Name",
                "Hole Codes Found",
                "Status",
                "PDF Link",
                "Path",
                "Pages",
                "OCR"
            ]
        );
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(rows[1][0], "ISO 1.pdf");
        assert_eq!(rows[1][1], "HC-1, HC-2");
        assert_eq!(rows[1][2], "2 Codes");
        assert_eq!(rows[1][3], "file:///d/a/ISO 1.pdf#page=1");
        assert_eq!(rows[1][4], "a/ISO 1.pdf");
        assert_eq!(rows[1][5], "HC-1: 1; HC-2: 1, 3");
        assert_eq!(rows[2][0], "=HYPERLINK(\"evil\").pdf");
        assert_eq!(rows[2][2], "1 Code");
        // Nothing a user or a file supplied became a formula: the only formulas are the links,
        // with the file's name inside a string literal.
        for sheet in ["Processing Results", "Codes", "Errors"] {
            let f = wb.worksheet_formula(sheet).unwrap();
            let (r0, c0) = f.start().unwrap_or((0, 0));
            for (row, col, v) in f.used_cells() {
                if v.is_empty() {
                    continue;
                }
                let (row, col) = (r0 as usize + row, c0 as usize + col);
                assert_eq!(
                    (sheet, col),
                    ("Processing Results", 3),
                    "formula {v} in {sheet} at row {row}"
                );
                assert!(v.starts_with("HYPERLINK(\"file:///d/"), "{v}");
            }
        }
        let f = wb.worksheet_formula("Processing Results").unwrap();
        assert_eq!(
            f.get_value((1, 3)).map(String::as_str),
            Some("HYPERLINK(\"file:///d/a/ISO 1.pdf#page=1\",\"file:///d/a/ISO 1.pdf#page=1\")")
        );
        // A quote in a path is doubled inside the literal.
        assert_eq!(
            f.get_value((2, 3)).map(String::as_str),
            Some("HYPERLINK(\"file:///d/b/=HYPERLINK(\"\"evil\"\").pdf#page=2\",\"file:///d/b/=HYPERLINK(\"\"evil\"\").pdf#page=2\")")
        );
        let codes = wb.worksheet_range("Codes").unwrap();
        let rows: Vec<Vec<Data>> = codes.rows().map(|r| r.to_vec()).collect();
        assert_eq!(rows[1][0], Data::String("HC-1".into()));
        assert_eq!(rows[1][1], Data::String("YES".into()));
        assert_eq!(rows[1][2], Data::Float(2.0));
        assert_eq!(
            rows[1][3],
            Data::String("a/ISO 1.pdf, b/=HYPERLINK(\"evil\").pdf".into())
        );
        assert_eq!(rows[3][0], Data::String("=SUM(1,2)".into()));
        assert_eq!(rows[3][1], Data::String("NO".into()));
        let errors = wb.worksheet_range("Errors").unwrap();
        assert_eq!(
            errors.get((1, 2)),
            Some(&Data::String("encrypted: a password is required".into()))
        );
        let summary = wb.worksheet_range("Summary").unwrap();
        assert_eq!(summary.get((0, 1)), Some(&Data::String("/d".into())));
    }

    #[test]
    fn without_a_list_every_file_is_reported_and_codes_discovered() {
        let mut b = ReportBuilder::new(&[], None).unwrap();
        b.add(&read(&["HC-7"], &[("HC-7", vec![1])], "x.pdf"), true)
            .unwrap();
        b.add(&read(&[], &[], "y.pdf"), true).unwrap();
        assert_eq!(b.found_split().0, vec!["HC-7".to_string()]);
        let mut buf = std::io::Cursor::new(Vec::new());
        b.finish(&ReportSummary::default(), &mut buf).unwrap();
        let mut wb: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(buf.into_inner())).unwrap();
        let r = wb.worksheet_range("Processing Results").unwrap();
        assert_eq!(r.rows().count(), 3);
        assert_eq!(r.get((2, 2)), Some(&Data::String("No Match".into())));
    }

    #[test]
    fn dates() {
        assert_eq!(super::format_ms(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            super::format_ms(1_795_824_000_000 + 3_723_000),
            "2026-11-28 01:02:03 UTC"
        );
    }
}
