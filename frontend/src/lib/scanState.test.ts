import { describe, expect, it } from "vitest";
import { initialScanState, scanReducer, type ScanState } from "./scanState";
import type { MatchData, ServerMessage } from "./protocol";

const match = (path: string, codes = ["HC-1"]): MatchData => ({
  hole_code: codes.join(", "),
  file_name: path.split("/").pop() ?? path,
  status: codes.length === 1 ? "1 Code" : `${codes.length} Codes`,
  pdf_link: `http://x/${path}#page=1`,
  path,
  codes,
  pages: Object.fromEntries(codes.map((c) => [c, [1]])),
  ocr: false,
});

const apply = (s: ScanState, ...msgs: ServerMessage[]) => msgs.reduce((acc, msg) => scanReducer(acc, { type: "server", msg, now: 1000 }), s);
const started = (id = "s1"): ServerMessage => ({ type: "STARTED", session_id: id, seq: 1, message: "Scanning" });
const found = (seq: number, path: string, id = "s1"): ServerMessage => ({ type: "MATCH_FOUND", session_id: id, seq, data: match(path) });

describe("scanReducer", () => {
  it("follows the scan it started and ignores what it has seen", () => {
    const s = apply(initialScanState, started(), found(2, "a.pdf"), found(2, "a.pdf"), found(3, "b.pdf"), found(3, "b.pdf"));
    expect(s.sessionId).toBe("s1");
    expect(s.status).toBe("RUNNING");
    expect(s.rows.map((r) => r.path)).toEqual(["a.pdf", "b.pdf"]);
    expect(s.lastSeq).toBe(3);
    expect(s.matches).toBe(2);
  });

  it("keeps one row per path even when a file is announced twice under two seqs", () => {
    const s = apply(initialScanState, started(), found(2, "a.pdf"), found(3, "a.pdf"));
    expect(s.rows).toHaveLength(1);
    expect(s.lastSeq).toBe(3);
  });

  it("ignores other sessions' messages", () => {
    const s = apply(initialScanState, started(), found(2, "x.pdf", "other"));
    expect(s.rows).toHaveLength(0);
  });

  it("restores from SYNC_STATE and drops replayed messages the snapshot holds", () => {
    let s = scanReducer(initialScanState, { type: "follow", sessionId: "s1" });
    s = apply(s, {
      type: "SYNC_STATE",
      session_id: "s1",
      seq: 0,
      last_seq: 10,
      matches: [match("a.pdf"), match("b.pdf")],
      errors: [{ path: "bad.pdf", file_name: "bad.pdf", error: "damaged" }],
      session: {
        status: "RUNNING", source: "/d", processed: 9, total: 20, matches: 2, errors: 1, skipped: 0, listing_done: true,
        target_count: 5, started_at: 500, finished_at: null, download_url: null, codes_found: [], codes_not_found: [], message: null,
      },
    });
    expect(s.rows).toHaveLength(2);
    expect(s.fileErrors).toHaveLength(1);
    expect(s.processed).toBe(9);
    s = apply(s, found(9, "a.pdf"), found(11, "c.pdf"));
    expect(s.rows.map((r) => r.path)).toEqual(["a.pdf", "b.pdf", "c.pdf"]);
    expect(s.lastSeq).toBe(11);
  });

  it("completes with the report and the codes no drawing mentions", () => {
    const s = apply(initialScanState, started(), found(2, "a.pdf"), {
      type: "COMPLETE", session_id: "s1", seq: 3, download_url: "http://r", total_matches: 1, total_processed: 4,
      message: "done", total_files: 5, errors: 0, skipped: 1, codes_found: ["HC-1"], codes_not_found: ["HC-2"], needs_ocr: 0,
    });
    expect(s.status).toBe("COMPLETE");
    expect(s.codesNotFound).toEqual(["HC-2"]);
    expect(s.downloadUrl).toBe("http://r");
    expect(s.processed).toBe(4);
  });

  it("records request errors without ending the scan, and scan errors as a failure", () => {
    let s = apply(initialScanState, started(), { type: "ERROR", session_id: "", seq: 0, code: "bad_request", message: "nope" });
    expect(s.status).toBe("RUNNING");
    expect(s.error?.message).toBe("nope");
    s = apply(s, { type: "ERROR", session_id: "s1", seq: 2, code: "source", message: "gone" });
    expect(s.status).toBe("FAILED");
  });

  it("keeps counters from going backwards", () => {
    const s = apply(
      initialScanState,
      started(),
      { type: "PROGRESS", session_id: "s1", seq: 3, value: 50, processed: 10, total: 20, matches: 2, errors: 0 },
      { type: "PROGRESS", session_id: "s1", seq: 2, value: 25, processed: 5, total: 20, matches: 1, errors: 0 },
    );
    expect(s.processed).toBe(10);
  });
});
