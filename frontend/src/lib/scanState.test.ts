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
        target_count: 5, started_at: 500, finished_at: null, download_url: null, codes_found: [], codes_not_found: [], codes_found_count: 0, codes_not_found_count: 0, codes_truncated: false, message: null,
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
      codes_found_count: 1, codes_not_found_count: 1, codes_truncated: false,
    });
    expect(s.status).toBe("COMPLETE");
    expect(s.codesNotFound).toEqual(["HC-2"]);
    expect(s.codesNotFoundCount).toBe(1);
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

  it("applies messages in seq order, whatever order and however often they come", () => {
    // A scan of 300 messages, each delivered twice, in an order shuffled by a fixed seed.
    const inOrder: ServerMessage[] = [started()];
    for (let seq = 2; seq < 300; seq++) {
      inOrder.push(
        seq % 3 === 0
          ? { type: "PROGRESS", session_id: "s1", seq, value: Math.floor(seq / 3), processed: seq, total: 300, matches: seq, errors: 0 }
          : found(seq, `f${seq}.pdf`),
      );
    }
    inOrder.push({
      type: "COMPLETE", session_id: "s1", seq: 300, download_url: "http://r", total_matches: 199, total_processed: 299,
      message: "done", total_files: 299, errors: 0, skipped: 0, codes_found: ["HC-1"], codes_not_found: [], needs_ocr: 0,
      codes_found_count: 1, codes_not_found_count: 0, codes_truncated: false,
    });
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const shuffled = [...inOrder, ...inOrder];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    const following = scanReducer(initialScanState, { type: "follow", sessionId: "s1" });
    const expected = apply(following, ...inOrder);
    const s = apply(following, ...shuffled);
    expect(s.lastSeq).toBe(300);
    expect(s.status).toBe("COMPLETE");
    expect(s.rows.map((r) => r.path)).toEqual(expected.rows.map((r) => r.path));
    expect(s.rows).toHaveLength(199);
    expect(s.pending).toEqual({});
    expect(s.gapSince).toBeNull();
  });

  it("holds a message past a gap until the gap fills, or a snapshot covers it", () => {
    let s = apply(initialScanState, started(), found(3, "c.pdf"));
    expect(s.lastSeq).toBe(1);
    expect(s.rows).toHaveLength(0);
    expect(s.gapSince).toBe(1000);
    s = apply(s, found(2, "b.pdf"));
    expect(s.rows.map((r) => r.path)).toEqual(["b.pdf", "c.pdf"]);
    expect(s.gapSince).toBeNull();
    // Seq 5 is never delivered live: the snapshot asked for after the wait covers it.
    s = apply(s, found(6, "f.pdf"));
    expect(s.gapSince).not.toBeNull();
    s = apply(s, {
      type: "SYNC_STATE", session_id: "s1", seq: 0, last_seq: 5, matches: [match("e.pdf")], errors: [],
      session: {
        status: "RUNNING", source: "/d", processed: 5, total: 9, matches: 4, errors: 0, skipped: 0, listing_done: true,
        target_count: 1, started_at: 500, finished_at: null, download_url: null, codes_found: [], codes_not_found: [],
        codes_found_count: 0, codes_not_found_count: 0, codes_truncated: false, message: null,
      },
    });
    expect(s.rows.map((r) => r.path)).toEqual(["b.pdf", "c.pdf", "e.pdf", "f.pdf"]);
    expect(s.lastSeq).toBe(6);
    expect(s.gapSince).toBeNull();
  });

  it("keeps the full counts of a code list cut short", () => {
    const s = apply(initialScanState, started(), {
      type: "COMPLETE", session_id: "s1", seq: 2, download_url: "http://r", total_matches: 0, total_processed: 1,
      message: "done", total_files: 1, errors: 0, skipped: 0, codes_found: [], codes_not_found: ["HC-1", "HC-2"], needs_ocr: 0,
      codes_found_count: 0, codes_not_found_count: 50_000, codes_truncated: true,
    });
    expect(s.codesNotFound).toHaveLength(2);
    expect(s.codesNotFoundCount).toBe(50_000);
    expect(s.codesTruncated).toBe(true);
  });
});
