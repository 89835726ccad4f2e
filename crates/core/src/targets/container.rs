//! What kind of workbook a file is, and the checks made before another crate parses it: the
//! parts of a zipped workbook measured unpacked (a few KiB can unpack to gigabytes), and an
//! .xls file's sheets measured from its records (calamine reads every sheet of an .xls as a
//! dense rectangle at open, and trusts the compound file's header).

use std::io::{Cursor, Read};

use super::TargetError;

/// Entries a zipped workbook may have.
const MAX_ZIP_ENTRIES: usize = 10_000;
/// One worksheet (or an OpenDocument sheet's content), unpacked.
pub(super) const MAX_SHEET_PART: u64 = 64 << 20;
/// Everything else a workbook's reader loads whole (shared strings, styles, relationships).
const MAX_OTHER_PARTS: u64 = 32 << 20;
/// Everything unpacked.
const MAX_UNPACKED: u64 = 256 << 20;
/// Cells an .xls sheet may span (calamine holds them all, ~40 bytes each, twice over).
pub(super) const MAX_XLS_CELLS: u64 = 2 << 20;

pub(super) enum Kind {
    Xlsx,
    Ods,
    Xls,
}

fn damaged(e: impl std::fmt::Display) -> TargetError {
    TargetError::NotAWorkbook(e.to_string())
}

fn too_large(part: &str, limit: u64) -> TargetError {
    TargetError::TooLarge {
        part: part.to_string(),
        limit_mib: limit >> 20,
    }
}

pub(super) fn kind(bytes: &[u8]) -> Result<Kind, TargetError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return zipped(bytes);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Ok(Kind::Xls);
    }
    Err(damaged("not a spreadsheet file"))
}

pub(super) fn zip(bytes: &[u8]) -> Result<zip::ZipArchive<Cursor<&[u8]>>, TargetError> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(damaged)?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(damaged(format!(
            "{} parts in the workbook; at most {MAX_ZIP_ENTRIES}",
            archive.len()
        )));
    }
    Ok(archive)
}

/// Bytes an entry unpacks to, read (not as declared), stopping past `limit`.
fn unpacked_size(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    i: usize,
    limit: u64,
) -> Result<u64, TargetError> {
    let entry = archive.by_index(i).map_err(damaged)?;
    std::io::copy(&mut entry.take(limit + 1), &mut std::io::sink()).map_err(damaged)
}

fn zipped(bytes: &[u8]) -> Result<Kind, TargetError> {
    let mut archive = zip(bytes)?;
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    let has = |n: &str| names.iter().any(|x| x == n);
    if has("content.xml") {
        // The OpenDocument reader streams content.xml itself, under its own bound.
        return Ok(Kind::Ods);
    }
    if has("xl/workbook.bin") {
        return Err(damaged("an .xlsb workbook: save it as .xlsx"));
    }
    if !has("xl/workbook.xml") {
        return Err(damaged("a zip file that holds no workbook"));
    }
    let (mut other, mut total) = (0u64, 0u64);
    for (i, name) in names.iter().enumerate() {
        let sheet = name.starts_with("xl/worksheets/") && !name.contains("/_rels/");
        let limit = if sheet {
            MAX_SHEET_PART
        } else {
            MAX_OTHER_PARTS - other
        };
        let budget = MAX_UNPACKED - total;
        let size = unpacked_size(&mut archive, i, limit.min(budget))?;
        if size > limit {
            return Err(if sheet {
                too_large(&format!("sheet {name}"), MAX_SHEET_PART)
            } else {
                too_large("shared strings, styles and other parts", MAX_OTHER_PARTS)
            });
        }
        if size > budget {
            return Err(too_large("workbook", MAX_UNPACKED));
        }
        total += size;
        if !sheet {
            other += size;
        }
    }
    Ok(Kind::Xlsx)
}

fn u16_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 2)
        .map(|s| u64::from(u16::from_le_bytes([s[0], s[1]])))
}

fn u32_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 4)
        .map(|s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}

/// Checks an .xls before calamine opens it: a sound compound file whose header counts fit the
/// file, and no sheet spanning more than `MAX_XLS_CELLS`, whether by its DIMENSIONS record or
/// by where its cells lie.
pub(super) fn check_xls(bytes: &[u8]) -> Result<(), TargetError> {
    let bad = || damaged("the .xls file is damaged");
    let mut cfb = cfb::CompoundFile::open(Cursor::new(bytes))
        .map_err(|e| damaged(format!("the .xls file is damaged: {e}")))?;
    // Header fields calamine sizes buffers by (MS-CFB 2.2), each bounded by the sectors the
    // file has; the fourth is what calamine reads as the DIFAT length (bytes 62..66).
    let shift = u16_at(bytes, 30).ok_or_else(bad)?;
    if !(7..=16).contains(&shift) {
        return Err(bad());
    }
    let sectors = bytes.len() as u64 >> shift;
    for at in [40, 44, 64] {
        if u32_at(bytes, at).ok_or_else(bad)? > sectors {
            return Err(bad());
        }
    }
    if u32_at(bytes, 62).ok_or_else(bad)? > 1 << 24 {
        return Err(bad());
    }
    let mut stream = Vec::new();
    let opened = cfb
        .open_stream("/Workbook")
        .or_else(|_| cfb.open_stream("/Book"));
    opened
        .map_err(|_| damaged("an .xls file without a workbook stream"))?
        .take(bytes.len() as u64)
        .read_to_end(&mut stream)
        .map_err(|e| damaged(format!("the .xls file is damaged: {e}")))?;
    // Where each sheet's records start, as the globals' BOUNDSHEET records say.
    let mut starts = vec![];
    for (typ, data) in records(&stream, 0) {
        match typ {
            0x0085 => starts.push(u32_at(data, 0).unwrap_or(0) as usize),
            0x000A => break,
            _ => {}
        }
    }
    for start in starts {
        check_sheet(&stream, start)?;
    }
    Ok(())
}

/// The records from `at` on: (type, data); stops at the first that does not fit.
fn records(stream: &[u8], at: usize) -> impl Iterator<Item = (u64, &[u8])> {
    let mut rest = stream.get(at..).unwrap_or(&[]);
    std::iter::from_fn(move || {
        let typ = u16_at(rest, 0)?;
        let len = u16_at(rest, 2)? as usize;
        let data = rest.get(4..4 + len)?;
        rest = &rest[4 + len..];
        Some((typ, data))
    })
}

fn check_sheet(stream: &[u8], start: usize) -> Result<(), TargetError> {
    let too_wide = |cells: u64| {
        TargetError::NotAWorkbook(format!(
            "an .xls sheet spans {cells} cells; at most {MAX_XLS_CELLS} are read from an .xls: \
             save the list as .xlsx, or delete the cells far from the codes"
        ))
    };
    let (mut r0, mut r1, mut c0, mut c1) = (u64::MAX, 0u64, u64::MAX, 0u64);
    let mut cell = |row: u64, col: u64| {
        r0 = r0.min(row);
        r1 = r1.max(row);
        c0 = c0.min(col);
        c1 = c1.max(col);
    };
    for (typ, data) in records(stream, start) {
        match typ {
            0x000A => break,
            // DIMENSIONS, read as calamine reads it (it reserves rows × columns).
            0x0200 => {
                let (rf, rl, cf, cl) = match data.len() {
                    10 => (
                        u16_at(data, 0),
                        u16_at(data, 2),
                        u16_at(data, 4),
                        u16_at(data, 6),
                    ),
                    14 => (
                        u32_at(data, 0),
                        u32_at(data, 4),
                        u16_at(data, 8),
                        u16_at(data, 10),
                    ),
                    _ => continue,
                };
                let (Some(rf), Some(rl), Some(mut cf), Some(cl)) = (rf, rl, cf, cl) else {
                    continue;
                };
                if cf > 0xFF || cl < cf {
                    cf = 0;
                }
                if rl >= 1 && cl >= 1 {
                    let rows = ((rl - 1) as u32).wrapping_sub(rf as u32) as u64 + 1;
                    let cols = ((cl - 1) as u32).wrapping_sub(cf as u32) as u64 + 1;
                    if rows.saturating_mul(cols) > MAX_XLS_CELLS {
                        return Err(too_wide(rows.saturating_mul(cols)));
                    }
                }
            }
            // Cells: NUMBER, LABEL, BOOLERR, RK, LABELSST, FORMULA start with row, column.
            0x0203 | 0x0204 | 0x0205 | 0x027E | 0x00FD | 0x0006 => {
                if let (Some(r), Some(c)) = (u16_at(data, 0), u16_at(data, 2)) {
                    cell(r, c);
                }
            }
            // MULRK: row, first column, ..., last column.
            0x00BD if data.len() >= 6 => {
                if let (Some(r), Some(c), Some(l)) = (
                    u16_at(data, 0),
                    u16_at(data, 2),
                    u16_at(data, data.len() - 2),
                ) {
                    cell(r, c);
                    cell(r, l);
                }
            }
            _ => {}
        }
    }
    if r0 != u64::MAX {
        let cells = (r1 - r0 + 1) * (c1.max(c0) - c0.min(c1) + 1);
        if cells > MAX_XLS_CELLS {
            return Err(too_wide(cells));
        }
    }
    Ok(())
}
