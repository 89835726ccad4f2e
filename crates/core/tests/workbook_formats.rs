//! Code lists in the legacy and open formats, from fixtures made by
//! `scripts/dev/make_list_fixtures.py`.

use isoscan_core::targets::read_targets;

#[test]
fn xls_and_ods_follow_the_list_rule() {
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
