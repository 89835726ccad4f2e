//! The dashboard's protocol types (`frontend/src/lib/protocol.gen.ts`) are generated from the
//! Rust types here with ts-rs. This test fails when the checked-in file is stale;
//! `ISOSCAN_WRITE_PROTOCOL=1 cargo test -p isoscan-core --test protocol_ts` writes it anew.

use isoscan_core::protocol::*;
use ts_rs::{Config, TS};

fn generated() -> String {
    // Counters and times are JSON numbers; JavaScript reads them as `number`.
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from crates/core/src/protocol by crates/core/tests/protocol_ts.rs: do not edit.\n\
         // ISOSCAN_WRITE_PROTOCOL=1 cargo test -p isoscan-core --test protocol_ts writes it anew.\n\n",
    );
    let decls = [
        SessionStatus::decl(&cfg),
        ErrorCode::decl(&cfg),
        UploadPurpose::decl(&cfg),
        MatchData::decl(&cfg),
        FileErrorData::decl(&cfg),
        SessionState::decl(&cfg),
        ServerMessage::decl(&cfg),
        ScanOptionsWire::decl(&cfg),
        StartScanWire::decl(&cfg),
        RequestUploadWire::decl(&cfg),
        CheckTargetsWire::decl(&cfg),
        SessionWire::decl(&cfg),
    ];
    for d in decls {
        out.push_str("export ");
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.push_str("export ");
    out.push_str(&Envelope::decl(&cfg));
    out.push_str("\n\n");
    out.push_str("/** What the client sends: an action, its fields, and an optional id its replies echo. */\nexport type ClientMessage = { req_id?: string } & (\n");
    for (action, fields) in ACTIONS {
        match fields {
            Some(f) => out.push_str(&format!("  | ({{ action: \"{action}\" }} & {f})\n")),
            None => out.push_str(&format!("  | {{ action: \"{action}\" }}\n")),
        }
    }
    out.push_str(");\n\n");
    out.push_str(&format!(
        "/** Largest client message, in bytes. */\nexport const MAX_CLIENT_MESSAGE = {MAX_CLIENT_MESSAGE};\n\
         /** Largest workbook sent inline (base64) with a message; larger lists are uploaded. */\nexport const MAX_FILE_CONTENT = {MAX_FILE_CONTENT};\n\
         /** Longest `req_id` echoed. */\nexport const MAX_REQ_ID = {MAX_REQ_ID};\n\
         /** What the location of an upload of drawings starts with (`start_scan`'s `drive_link`). */\nexport const UPLOAD_PREFIX = {:?};\n",
        isoscan_core::location::UPLOAD_PREFIX
    ));
    out
}

#[test]
fn the_dashboards_protocol_types_are_generated_from_these() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../frontend/src/lib/protocol.gen.ts");
    let want = generated();
    if std::env::var_os("ISOSCAN_WRITE_PROTOCOL").is_some() {
        std::fs::write(&path, &want).expect("write the protocol types");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale: run ISOSCAN_WRITE_PROTOCOL=1 cargo test -p isoscan-core --test protocol_ts",
        path.display()
    );
}
