//! `isoscan scan` as a user runs it: the real binary on generated drawings and hostile files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use calamine::{Data, Reader, Xlsx};
use isoscan_pdfgen::hostile::hostile;
use isoscan_pdfgen::{code_list, write_corpus, write_xlsx, DrawingOptions};
use serde_json::Value;

fn isoscan(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_isoscan"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run isoscan")
}

fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("events")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

struct Corpus {
    _dir: tempfile::TempDir,
    root: PathBuf,
    codes: Vec<String>,
}

fn corpus(n: usize) -> Corpus {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_path_buf();
    let truth = write_corpus(
        &root.join("drawings"),
        n,
        42,
        DrawingOptions {
            small: true,
            ..Default::default()
        },
    )
    .expect("corpus");
    let codes = code_list(&truth, 60);
    write_xlsx(&root.join("codes.xlsx"), &codes).expect("codes");
    let hostile_dir = root.join("drawings/hostile");
    std::fs::create_dir_all(&hostile_dir).expect("mkdir");
    for s in hostile() {
        std::fs::write(hostile_dir.join(s.name), &s.bytes).expect("write hostile");
    }
    std::fs::write(root.join("drawings/readme.txt"), "not a drawing").expect("write txt");
    // A file name that looks like a formula, and the same name in two folders.
    std::fs::copy(
        root.join("drawings/area-00/iso_00000.pdf"),
        root.join("drawings/=HYPERLINK(\"evil\").pdf"),
    )
    .expect("copy");
    std::fs::create_dir_all(root.join("drawings/copy")).expect("mkdir");
    std::fs::copy(
        root.join("drawings/area-00/iso_00000.pdf"),
        root.join("drawings/copy/iso_00000.pdf"),
    )
    .expect("copy");
    Corpus {
        _dir: dir,
        root,
        codes,
    }
}

#[test]
fn a_scan_reports_matches_errors_and_writes_the_workbook() {
    let c = corpus(30);
    let out = isoscan(
        &[
            "scan",
            "drawings",
            "--targets",
            "codes.xlsx",
            "--out",
            "out/report.xlsx",
            "--events",
            "events.ndjson",
            "--jobs",
            "2",
        ],
        &c.root,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let ev = events(&c.root.join("events.ndjson"));
    assert_eq!(ev[0]["type"], "STARTED");
    let last = ev.last().expect("events");
    assert_eq!(last["type"], "COMPLETE");
    assert_eq!(ev.iter().filter(|e| e["type"] == "COMPLETE").count(), 1);
    // seq runs 1..n on one session.
    for (i, e) in ev.iter().enumerate() {
        assert_eq!(e["seq"], i as u64 + 1);
        assert_eq!(e["session_id"], ev[0]["session_id"]);
    }
    let n_hostile = hostile().len() as u64;
    assert_eq!(last["total_files"], 30 + n_hostile + 2 + 1);
    assert_eq!(last["total_processed"], 30 + n_hostile + 2);
    assert_eq!(last["skipped"], 1);
    assert_eq!(last["errors"], n_hostile);
    // Every hostile file is a FILE_ERROR with a reason.
    let file_errors: Vec<&Value> = ev.iter().filter(|e| e["type"] == "FILE_ERROR").collect();
    assert_eq!(file_errors.len() as u64, n_hostile);
    for s in hostile() {
        let e = file_errors
            .iter()
            .find(|e| e["data"]["path"] == format!("hostile/{}", s.name))
            .unwrap_or_else(|| panic!("{}", s.name));
        assert!(!e["data"]["error"].as_str().unwrap_or("").is_empty());
    }
    let pw = file_errors
        .iter()
        .find(|e| e["data"]["file_name"] == "password.pdf")
        .expect("password.pdf");
    assert!(pw["data"]["error"]
        .as_str()
        .unwrap_or("")
        .starts_with("encrypted"));
    // Matches carry path, codes, pages; both copies of iso_00000 are reported.
    let matches: Vec<&Value> = ev.iter().filter(|e| e["type"] == "MATCH_FOUND").collect();
    assert_eq!(last["total_matches"], matches.len() as u64);
    let paths: Vec<&str> = matches
        .iter()
        .filter_map(|m| m["data"]["path"].as_str())
        .collect();
    assert!(
        paths.contains(&"area-00/iso_00000.pdf") && paths.contains(&"copy/iso_00000.pdf"),
        "{paths:?}"
    );
    let m = matches[0];
    assert!(m["data"]["codes"].as_array().is_some_and(|a| !a.is_empty()));
    assert!(m["data"]["pages"]
        .as_object()
        .is_some_and(|p| !p.is_empty()));
    let found = last["codes_found"].as_array().expect("found").len();
    let not_found = last["codes_not_found"].as_array().expect("not found").len();
    assert_eq!(found + not_found, c.codes.len());
    assert!(found >= 30, "{found}");
    // The workbook.
    let mut wb: Xlsx<_> = calamine::open_workbook(c.root.join("out/report.xlsx")).expect("report");
    let results = wb.worksheet_range("Processing Results").expect("results");
    assert_eq!(results.rows().count() - 1, matches.len());
    let names: Vec<String> = results.rows().skip(1).map(|r| r[0].to_string()).collect();
    assert!(names.contains(&"=HYPERLINK(\"evil\").pdf".to_string()));
    let errors = wb.worksheet_range("Errors").expect("errors");
    assert_eq!(errors.rows().count() as u64 - 1, n_hostile);
    let codes = wb.worksheet_range("Codes").expect("codes");
    assert_eq!(codes.rows().count() - 1, c.codes.len());
    assert_eq!(codes.get((1, 0)), Some(&Data::String(c.codes[0].clone())));
    // The summary line.
    assert!(stderr(&out).contains("with a match"), "{}", stderr(&out));
}

#[test]
fn limits_are_configurable() {
    let c = corpus(2);
    // Two operators a page is far too few for any drawing: every file is over the limit.
    let out = isoscan(
        &[
            "scan",
            "drawings/area-00",
            "--targets",
            "codes.xlsx",
            "--out",
            "lim.xlsx",
            "--events",
            "lim.ndjson",
            "--page-max-operators",
            "2",
        ],
        &c.root,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let ev = events(&c.root.join("lim.ndjson"));
    let errors: Vec<&Value> = ev.iter().filter(|e| e["type"] == "FILE_ERROR").collect();
    assert_eq!(errors.len(), 2);
    assert!(errors.iter().all(|e| e["data"]["error"]
        .as_str()
        .unwrap_or("")
        .contains("more than 2 operators")));
}

#[test]
fn without_a_list_every_file_is_reported() {
    let c = corpus(5);
    let out = isoscan(
        &[
            "scan",
            "drawings/area-00",
            "--pattern",
            r"\bHC-\d{4}\b",
            "--out",
            "r.xlsx",
            "--events",
            "-",
        ],
        &c.root,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let ev: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let last = ev.last().expect("events");
    assert_eq!(last["type"], "COMPLETE");
    let mut wb: Xlsx<_> = calamine::open_workbook(c.root.join("r.xlsx")).expect("report");
    let results = wb.worksheet_range("Processing Results").expect("results");
    assert_eq!(results.rows().count() - 1, 5);
    for code in last["codes_found"].as_array().expect("found") {
        assert!(code.as_str().is_some_and(|c| c.starts_with("HC-")));
    }
}

#[test]
fn usage_and_fatal_errors_have_exit_codes_and_one_clear_line() {
    let c = corpus(2);
    let o = isoscan(&["scan"], &c.root);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = isoscan(&["scan", "drawings", "--jobs", "many"], &c.root);
    assert_eq!(o.status.code(), Some(2));
    let o = isoscan(
        &[
            "scan",
            "drawings",
            "--targets",
            "codes.xlsx",
            "--pattern",
            "HC-\\d+",
        ],
        &c.root,
    );
    assert_eq!(o.status.code(), Some(2));
    let o = isoscan(&["scan", "drawings", "--pattern", "("], &c.root);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("invalid pattern"), "{}", stderr(&o));
    let o = isoscan(&["scan", "drawings", "--targets", "missing.xlsx"], &c.root);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read the code list"),
        "{}",
        stderr(&o)
    );
    std::fs::write(c.root.join("list.xlsx"), "<html>not a workbook</html>").expect("write");
    let o = isoscan(&["scan", "drawings", "--targets", "list.xlsx"], &c.root);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a workbook"), "{}", stderr(&o));
    std::fs::write(c.root.join("empty.csv"), "Hole Code\n").expect("write");
    let o = isoscan(&["scan", "drawings", "--targets", "empty.csv"], &c.root);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no codes"), "{}", stderr(&o));
    let o = isoscan(
        &["scan", "no-such-folder", "--targets", "codes.xlsx"],
        &c.root,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));
    let o = isoscan(
        &[
            "scan",
            "drawings",
            "--targets",
            "codes.xlsx",
            "--out",
            "drawings",
        ],
        &c.root,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is a folder"), "{}", stderr(&o));
    // Nothing was scanned, so no report was written.
    assert!(!c.root.join("isoscan-report.xlsx").exists());
}

#[test]
fn zip_archives_are_read_in_place_and_entries_cannot_escape() {
    let c = corpus(3);
    let zip_path = c.root.join("drawings.zip");
    let f = std::fs::File::create(&zip_path).expect("zip");
    let mut z = zip::ZipWriter::new(f);
    let opts: zip::write::SimpleFileOptions = zip::write::SimpleFileOptions::default();
    for (name, src) in [
        ("sub/a.pdf", "area-00/iso_00000.pdf"),
        ("../../evil.pdf", "area-00/iso_00001.pdf"),
        ("b.pdf", "area-00/iso_00002.pdf"),
    ] {
        z.start_file(name, opts).expect("entry");
        std::io::Write::write_all(
            &mut z,
            &std::fs::read(c.root.join("drawings").join(src)).expect("read"),
        )
        .expect("write");
    }
    z.start_file("notes.txt", opts).expect("entry");
    std::io::Write::write_all(&mut z, b"hello").expect("write");
    z.finish().expect("finish");
    let out = isoscan(
        &[
            "scan",
            "drawings.zip",
            "--targets",
            "codes.xlsx",
            "--out",
            "z.xlsx",
            "--events",
            "z.ndjson",
        ],
        &c.root,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let ev = events(&c.root.join("z.ndjson"));
    let last = ev.last().expect("events");
    assert_eq!(
        (
            last["total_files"].as_u64(),
            last["skipped"].as_u64(),
            last["errors"].as_u64()
        ),
        (Some(4), Some(1), Some(1))
    );
    let err = ev
        .iter()
        .find(|e| e["type"] == "FILE_ERROR")
        .expect("file error");
    assert!(
        err["data"]["error"]
            .as_str()
            .unwrap_or("")
            .contains("leave"),
        "{err}"
    );
    assert!(ev
        .iter()
        .any(|e| e["type"] == "MATCH_FOUND" && e["data"]["path"] == "sub/a.pdf"));
    assert!(!c
        .root
        .parent()
        .map(|p| p.join("evil.pdf").exists())
        .unwrap_or(false));
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_unreadable_entries_are_reported_not_fatal() {
    let c = corpus(2);
    let d = c.root.join("drawings/area-00");
    std::os::unix::fs::symlink(&d, d.join("loop")).expect("symlink");
    std::os::unix::fs::symlink(d.join("missing-target.pdf"), d.join("dangling.pdf"))
        .expect("symlink");
    let out = isoscan(
        &[
            "scan",
            "drawings/area-00",
            "--targets",
            "codes.xlsx",
            "--out",
            "l.xlsx",
            "--events",
            "l.ndjson",
        ],
        &c.root,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let ev = events(&c.root.join("l.ndjson"));
    let errs: Vec<String> = ev
        .iter()
        .filter(|e| e["type"] == "FILE_ERROR")
        .map(|e| e["data"]["path"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        errs.contains(&"loop".to_string()) && errs.contains(&"dangling.pdf".to_string()),
        "{errs:?}"
    );
    assert_eq!(ev.last().expect("events")["type"], "COMPLETE");
}
