//! Code lists in the legacy and open formats, from fixtures made by
//! `scripts/dev/make_list_fixtures.py`.

use isoscan_core::targets::{read_targets, TargetError, MAX_CODES, MAX_CODE_CHARS, MAX_LIST_BYTES};

#[test]
fn xls_and_ods_follow_the_list_rule() {
    let _one = serial();
    for name in ["codes.xls", "codes.ods"] {
        let bytes = std::fs::read(format!(
            "{}/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture");
        let t = read_targets(&bytes, name, None, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            t.codes,
            vec!["HC-1042", "1042", "PEN-20-0033", "7.5"],
            "{name}"
        );
        assert_eq!(t.duplicates, 1, "{name}");
        assert_eq!(t.header.as_deref(), Some("Mã hố"), "{name}");
        assert_eq!(t.sheet, "Codes", "{name}");
        let notes = read_targets(&bytes, name, Some("Codes"), Some("Note"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // A column named by its header: row 1 is that header.
        assert_eq!(
            notes.codes,
            vec!["a", "number", "trim", "dup", "empty", "fraction"],
            "{name}"
        );
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// Tests of this file one at a time: the allocator's count is the process's.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Bytes allocated and not yet freed, at most, while `f` ran (the test binary's allocator
/// counts them).
fn peak_while<T>(f: impl FnOnce() -> T) -> (T, usize) {
    alloc::reset();
    let r = f();
    (r, alloc::peak())
}

mod alloc {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    static NOW: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);
    static BASE: AtomicUsize = AtomicUsize::new(0);

    struct Counting;

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            let now = NOW.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
            unsafe { System.alloc(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            NOW.fetch_sub(l.size(), Ordering::Relaxed);
            unsafe { System.dealloc(p, l) }
        }
    }

    #[global_allocator]
    static A: Counting = Counting;

    pub fn reset() {
        let now = NOW.load(Ordering::Relaxed);
        BASE.store(now, Ordering::Relaxed);
        PEAK.store(now, Ordering::Relaxed);
    }
    pub fn peak() -> usize {
        PEAK.load(Ordering::Relaxed)
            .saturating_sub(BASE.load(Ordering::Relaxed))
    }
}

/// One cell far from the others (the last row and column a format has) used to make the
/// reader hold the whole rectangle between them: 17 billion cells for .xlsx.
#[test]
fn one_far_cell_costs_what_one_cell_costs() {
    let _one = serial();
    let (t, peak) = peak_while(|| read_targets(&fixture("far_cell.xlsx"), "far.xlsx", None, None));
    let t = t.expect("far_cell.xlsx");
    assert_eq!(
        (t.codes, t.header.as_deref()),
        (vec!["HC-1".to_string()], Some("Hole Code"))
    );
    assert!(peak < 16 << 20, "far_cell.xlsx: {peak} bytes at peak");
    // The far column asked for by letter is read like any other.
    let t = read_targets(&fixture("far_cell.xlsx"), "far.xlsx", None, Some("XFD")).expect("XFD");
    assert_eq!(t.codes, vec!["x"]);

    // An .xls is read whole by calamine at open: a sheet spanning 65,536 x 256 cells is
    // refused before, with what to do.
    let (r, peak) = peak_while(|| read_targets(&fixture("far_cell.xls"), "far.xls", None, None));
    let e = r.expect_err("far_cell.xls is refused").to_string();
    assert!(
        e.contains("16777216 cells") && e.contains("save the list as .xlsx"),
        "{e}"
    );
    assert!(peak < 16 << 20, "far_cell.xls: {peak} bytes at peak");

    // .ods: a cell repeated over 16,383 columns and a million rows is counted, not expanded.
    let (t, peak) = peak_while(|| read_targets(&fixture("repeated_far.ods"), "r.ods", None, None));
    let t = t.expect("repeated_far.ods");
    assert_eq!(t.codes, vec!["HC-1", "HC-2"]);
    assert!(peak < 16 << 20, "repeated_far.ods: {peak} bytes at peak");
    // Column B of it: "x" once, then 1,048,572 duplicates.
    let t = read_targets(&fixture("repeated_far.ods"), "r.ods", None, Some("B")).expect("B");
    assert_eq!((t.codes.len(), t.duplicates), (1, 1_048_572));
    // The same block in the codes' column reaches past the last row.
    let r = read_targets(&fixture("repeated_in_codes.ods"), "r.ods", None, None);
    assert!(matches!(r, Err(TargetError::TooManyRows)), "{r:?}");
}

/// A workbook rewritten so that its one shared string unpacks to 90 MB (a few KB zipped):
/// refused before it is read, so no 90 MB code (nor a 90 MB TARGETS reply).
#[test]
fn a_cell_that_unpacks_to_90_mb_is_refused_before_it_is_read() {
    use std::io::{Read, Write};
    let _one = serial();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "Hole Code").unwrap();
    ws.write_string(1, 0, "HC-1").unwrap();
    let small = wb.save_to_buffer().unwrap();
    let mut from = zip::ZipArchive::new(std::io::Cursor::new(small)).unwrap();
    let mut to = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflate = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..from.len() {
        let mut entry = from.by_index(i).unwrap();
        let name = entry.name().to_string();
        let mut body = Vec::new();
        entry.read_to_end(&mut body).unwrap();
        if name == "xl/sharedStrings.xml" {
            let text = String::from_utf8(body).unwrap();
            body = text.replace("HC-1", &"7".repeat(90_000_000)).into_bytes();
        }
        to.start_file(name, deflate).unwrap();
        to.write_all(&body).unwrap();
    }
    let bytes = to.finish().unwrap().into_inner();
    assert!(bytes.len() < 200 << 10, "{} bytes zipped", bytes.len());
    let (r, peak) = peak_while(|| read_targets(&bytes, "long.xlsx", None, None));
    let e = r.expect_err("refused");
    assert!(
        matches!(&e, TargetError::TooLarge { limit_mib: 32, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("MiB unpacked"), "{e}");
    assert!(peak < 16 << 20, "{peak} bytes at peak");
    // openpyxl cuts a cell at Excel's 32,767 characters: too long for a code.
    let r = read_targets(&fixture("long_cell.xlsx"), "long.xlsx", None, None);
    assert_eq!(r, Err(TargetError::CodeTooLong { row: 2 }));
}

/// Codes longer than any code, and damaged .xls headers that calamine would size buffers by.
#[test]
fn long_codes_and_damaged_xls_headers_are_clear_errors() {
    let _one = serial();
    let long = format!("Code\nHC-1\n{}\n", "7".repeat(MAX_CODE_CHARS + 1));
    let r = read_targets(long.as_bytes(), "c.csv", None, None);
    assert_eq!(r, Err(TargetError::CodeTooLong { row: 3 }));
    let ok = format!("Code\n{}\n", "7".repeat(MAX_CODE_CHARS));
    assert!(read_targets(ok.as_bytes(), "c.csv", None, None).is_ok());

    let good = fixture("codes.xls");
    // MS-CFB header fields: directory sectors (40), FAT sectors (44), mini FAT sectors (64).
    for at in [40usize, 44, 64] {
        let mut b = good.clone();
        b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let r = read_targets(&b, "codes.xls", None, None);
        assert!(
            matches!(r, Err(TargetError::NotAWorkbook(_))),
            "byte {at}: {r:?}"
        );
    }
    // Every other byte of the file flipped in turn: an error or a list, never a panic or an
    // allocation the file sizes.
    for at in (0..good.len()).step_by(7) {
        let mut b = good.clone();
        b[at] ^= 0xFF;
        let (_, peak) = peak_while(|| read_targets(&b, "codes.xls", None, None));
        assert!(peak < 64 << 20, "byte {at}: {peak} bytes at peak");
    }
}

/// Lists of many rows are read one record at a time, and bounded in rows and codes.
#[test]
fn large_lists_are_bounded_in_rows_and_codes() {
    let _one = serial();
    // 64 MiB of one-character lines: 33 million rows, refused at the sheet's last row.
    let lines = "a\n".repeat(MAX_LIST_BYTES / 2);
    let (r, peak) = peak_while(|| read_targets(lines.as_bytes(), "c.txt", None, None));
    assert!(matches!(r, Err(TargetError::TooManyRows)), "{r:?}");
    assert!(peak < 128 << 20, "{peak} bytes at peak");
    // The most codes a list may have is read; one more is refused.
    let codes: String = (0..MAX_CODES).map(|i| format!("HC-{i}\n")).collect();
    let (t, peak) = peak_while(|| read_targets(codes.as_bytes(), "c.txt", None, None));
    assert_eq!(t.expect("largest list").codes.len(), MAX_CODES);
    assert!(peak < 64 << 20, "{peak} bytes at peak");
    let more = format!("{codes}HC-X\n");
    let r = read_targets(more.as_bytes(), "c.txt", None, None);
    assert!(matches!(r, Err(TargetError::TooMany(_))), "{r:?}");
    let too_big = vec![b'a'; MAX_LIST_BYTES + 1];
    let r = read_targets(&too_big, "c.txt", None, None);
    assert!(matches!(r, Err(TargetError::TooLarge { .. })), "{r:?}");
}
