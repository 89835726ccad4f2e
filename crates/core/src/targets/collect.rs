//! The list rule applied to cells as they stream in: one column, row 1 a header when it reads
//! as one, duplicates counted, every bound checked before a cell is kept.

use std::collections::HashSet;

use super::{column_letter, fold_header, is_header, TargetError, TargetList};
use super::{MAX_CODES, MAX_CODE_CHARS, MAX_ROWS};
use crate::matcher::normalize;

/// Row-1 cells kept while the column is not yet known (a sheet has at most 16,384 columns).
const MAX_HEADER_CELLS: usize = 16_384;

/// Takes non-empty, trimmed cells in row order (row and column from 0) and keeps the codes of
/// the chosen column.
pub(super) struct Collector<'a> {
    column: Option<&'a str>,
    /// The column, and whether it was named by its row-1 header; `None` until row 1 is read.
    chosen: Option<(u64, bool)>,
    /// Row-1 cells (column, text, rows it repeats over) while the column is not known.
    first_row: Vec<(u64, String, u64)>,
    codes: Vec<String>,
    seen: HashSet<String>,
    duplicates: u64,
    header: Option<String>,
}

impl<'a> Collector<'a> {
    pub fn new(column: Option<&'a str>) -> Self {
        let column = column.map(str::trim).filter(|c| !c.is_empty());
        Collector {
            column,
            // Without a column, or with a number, row 1 need not be read first.
            chosen: match column {
                None => Some((0, false)),
                Some(c) => c
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .map(|n| (n - 1, false)),
            },
            first_row: vec![],
            codes: vec![],
            seen: HashSet::new(),
            duplicates: 0,
            header: None,
        }
    }

    /// Whether cells of column `col` are wanted (the caller may skip the others unread).
    pub fn wants(&self, col: u64) -> bool {
        self.chosen.is_none_or(|(c, _)| c == col)
    }

    /// Whether any of columns `col..col + cols` is wanted.
    pub fn wants_any(&self, col: u64, cols: u64) -> bool {
        self.chosen
            .is_none_or(|(c, _)| (col..col.saturating_add(cols)).contains(&c))
    }

    fn resolve(&mut self) -> Result<(u64, bool), TargetError> {
        if let Some(c) = self.chosen {
            return Ok(c);
        }
        let spec = self.column.unwrap_or("");
        let chosen = if spec.parse::<u64>().is_ok() {
            return Err(TargetError::NoSuchColumn(spec.to_string()));
        } else if let Some((c, _, _)) = self
            .first_row
            .iter()
            .find(|(_, h, _)| fold_header(h) == fold_header(spec))
        {
            (*c, true)
        } else {
            parse_column_letters(spec)
                .map(|c| (c, false))
                .ok_or_else(|| TargetError::NoSuchColumn(spec.to_string()))?
        };
        self.chosen = Some(chosen);
        let first = std::mem::take(&mut self.first_row);
        if let Some((_, text, rows)) = first.into_iter().find(|(c, _, _)| *c == chosen.0) {
            self.keep(0, rows, text, chosen.1)?;
        }
        Ok(chosen)
    }

    /// A cell repeated over `rows` rows and `cols` columns (1 and 1 for a plain cell), given
    /// in row order.
    pub fn cell(
        &mut self,
        row: u64,
        rows: u64,
        col: u64,
        cols: u64,
        text: &str,
    ) -> Result<(), TargetError> {
        let text = text.trim();
        if text.is_empty() || rows == 0 || cols == 0 {
            return Ok(());
        }
        if self.chosen.is_none() {
            if row == 0 {
                let end = col.saturating_add(cols).min(MAX_HEADER_CELLS as u64);
                for c in col..end {
                    if self.first_row.len() < MAX_HEADER_CELLS {
                        self.first_row.push((c, bounded(text), rows));
                    }
                }
                return Ok(());
            }
            self.resolve()?;
        }
        let Some((chosen, by_header)) = self.chosen else {
            return Ok(());
        };
        if !(col..col.saturating_add(cols)).contains(&chosen) {
            return Ok(());
        }
        self.keep(row, rows, text.to_string(), row == 0 && by_header)
    }

    fn keep(
        &mut self,
        row: u64,
        rows: u64,
        text: String,
        by_header: bool,
    ) -> Result<(), TargetError> {
        if row.saturating_add(rows) > MAX_ROWS {
            return Err(TargetError::TooManyRows);
        }
        if row == 0 && (by_header || is_header(&text)) {
            self.header = Some(text);
            if rows > 1 {
                return self.keep(1, rows - 1, self.header.clone().unwrap_or_default(), false);
            }
            return Ok(());
        }
        if text.chars().count() > MAX_CODE_CHARS {
            return Err(TargetError::CodeTooLong { row: row + 1 });
        }
        if self.seen.insert(normalize(&text)) {
            self.codes.push(text);
            if self.codes.len() > MAX_CODES {
                return Err(TargetError::TooMany(self.codes.len()));
            }
            self.duplicates += rows - 1;
        } else {
            self.duplicates += rows;
        }
        Ok(())
    }

    pub fn finish(mut self, sheet: String) -> Result<TargetList, TargetError> {
        let (col, _) = self.resolve()?;
        let column = column_letter(col);
        if self.codes.is_empty() {
            return Err(TargetError::Empty { sheet, column });
        }
        Ok(TargetList {
            codes: self.codes,
            duplicates: usize::try_from(self.duplicates).unwrap_or(usize::MAX),
            sheet,
            column,
            header: self.header,
        })
    }
}

/// A header cell as kept: at most a few hundred bytes (it is only compared with a name).
fn bounded(text: &str) -> String {
    text.chars().take(MAX_CODE_CHARS + 1).collect()
}

pub(super) fn parse_column_letters(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 3 || !s.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut v = 0u64;
    for c in s.to_ascii_uppercase().bytes() {
        v = v * 26 + u64::from(c - b'A' + 1);
    }
    Some(v - 1)
}
