// What the dashboard knows of a scan, built only from server messages. Messages are delivered
// at least once and possibly out of order: they are applied in `seq` order, one ahead of a gap
// waits (the hook asks the log again if the gap stays), anything at or below the last `seq`
// applied is ignored, rows are unique by path.
import type { FileErrorData, MatchData, ServerMessage, SessionState } from "./protocol";

export type ScanStatus = "idle" | SessionState["status"];

export interface TargetsInfo {
  count: number;
  duplicates: number;
  sample: string[];
  sheet: string;
  column: string;
}

/** Messages held back for a gap in `seq`, at most this many (past it they are asked again). */
export const MAX_PENDING = 2_000;

export interface ScanState {
  sessionId: string | null;
  /** The last `seq` applied: every message of the session up to it has been. */
  lastSeq: number;
  /** Messages that came before one they follow, by `seq`. */
  pending: Record<number, ServerMessage>;
  /** When the oldest gap opened (ms), while there is one. */
  gapSince: number | null;
  status: ScanStatus;
  source: string;
  processed: number;
  total: number;
  matches: number;
  errors: number;
  skipped: number;
  listingDone: boolean;
  /** Server time the scan started, in ms. */
  startedAt: number | null;
  finishedAt: number | null;
  rows: MatchData[];
  rowByPath: Record<string, number>;
  fileErrors: FileErrorData[];
  codesFound: string[];
  codesNotFound: string[];
  /** The full counts: the lists stop at 1,000 codes each (`codesTruncated`). */
  codesFoundCount: number;
  codesNotFoundCount: number;
  codesTruncated: boolean;
  downloadUrl: string | null;
  message: string | null;
  /** The last error the server reported for a request (seq 0) or for the scan. */
  error: { code: string; message: string } | null;
  targets: TargetsInfo | null;
}

export const initialScanState: ScanState = {
  sessionId: null,
  lastSeq: 0,
  pending: {},
  gapSince: null,
  status: "idle",
  source: "",
  processed: 0,
  total: 0,
  matches: 0,
  errors: 0,
  skipped: 0,
  listingDone: false,
  startedAt: null,
  finishedAt: null,
  rows: [],
  rowByPath: {},
  fileErrors: [],
  codesFound: [],
  codesNotFound: [],
  codesFoundCount: 0,
  codesNotFoundCount: 0,
  codesTruncated: false,
  downloadUrl: null,
  message: null,
  error: null,
  targets: null,
};

export type ScanAction =
  | { type: "server"; msg: ServerMessage; now: number }
  | { type: "follow"; sessionId: string }
  | { type: "clear-error" }
  | { type: "clear-targets" };

function addRows(s: ScanState, rows: MatchData[]): Pick<ScanState, "rows" | "rowByPath"> {
  let out = s.rows;
  let index = s.rowByPath;
  for (const r of rows) {
    const at = index[r.path];
    if (at === undefined) {
      if (out === s.rows) {
        out = s.rows.slice();
        index = { ...s.rowByPath };
      }
      index[r.path] = out.length;
      out.push(r);
    }
  }
  return { rows: out, rowByPath: index };
}

function addErrors(list: FileErrorData[], add: FileErrorData[]): FileErrorData[] {
  const seen = new Set(list.map((e) => e.path));
  const fresh = add.filter((e) => !seen.has(e.path) && (seen.add(e.path), true));
  return fresh.length ? [...list, ...fresh] : list;
}

export function scanReducer(s: ScanState, a: ScanAction): ScanState {
  switch (a.type) {
    case "follow":
      return a.sessionId === s.sessionId ? s : { ...initialScanState, targets: s.targets, sessionId: a.sessionId };
    case "clear-error":
      return { ...s, error: null };
    case "clear-targets":
      return { ...s, targets: null };
    case "server":
      return onMessage(s, a.msg, a.now);
  }
}

function onMessage(s: ScanState, m: ServerMessage, now: number): ScanState {
  // Answers to requests: not part of any session's log.
  switch (m.type) {
    case "TARGETS":
      return {
        ...s,
        error: null,
        targets: { count: m.count, duplicates: m.duplicates, sample: m.sample, sheet: m.sheet, column: m.column },
      };
    case "PONG":
    case "UPLOAD_URL":
    case "REPORT_URL":
      return s;
    case "SYNC_STATE": {
      const base = m.session_id === s.sessionId ? s : { ...initialScanState, targets: s.targets, sessionId: m.session_id };
      const st = m.session;
      const rows = addRows(base, m.matches);
      const done = st.codes_found_count + st.codes_not_found_count > 0;
      return drain({
        ...base,
        ...rows,
        lastSeq: Math.max(base.lastSeq, m.last_seq),
        status: st.status,
        source: st.source,
        processed: Math.max(base.processed, st.processed),
        total: Math.max(base.total, st.total),
        matches: Math.max(base.matches, st.matches, rows.rows.length),
        errors: Math.max(base.errors, st.errors),
        skipped: st.skipped,
        listingDone: st.listing_done,
        startedAt: st.started_at,
        finishedAt: st.finished_at,
        fileErrors: addErrors(base.fileErrors, m.errors),
        codesFound: done ? st.codes_found : base.codesFound,
        codesNotFound: done ? st.codes_not_found : base.codesNotFound,
        codesFoundCount: done ? st.codes_found_count : base.codesFoundCount,
        codesNotFoundCount: done ? st.codes_not_found_count : base.codesNotFoundCount,
        codesTruncated: done ? st.codes_truncated : base.codesTruncated,
        downloadUrl: st.download_url ?? base.downloadUrl,
        message: st.message ?? base.message,
        error: null,
      }, now);
    }
    default:
      break;
  }
  if (m.seq === 0) {
    return m.type === "ERROR" ? { ...s, error: { code: m.code, message: m.message } } : s;
  }
  if (m.type === "STARTED" && m.seq === 1 && m.session_id !== s.sessionId) {
    // A scan this client just started.
    s = { ...initialScanState, targets: s.targets, sessionId: m.session_id };
  }
  if (m.session_id !== s.sessionId || m.seq <= s.lastSeq) return s;
  if (m.seq > s.lastSeq + 1) {
    // One ahead of a gap: held until the gap fills (or the log is asked again).
    if (m.seq in s.pending || Object.keys(s.pending).length >= MAX_PENDING) return { ...s, gapSince: s.gapSince ?? now };
    return { ...s, pending: { ...s.pending, [m.seq]: m }, gapSince: s.gapSince ?? now };
  }
  return drain(apply(s, m, now), now);
}

/** Applies the held messages that now follow `lastSeq`, drops those it passed. */
function drain(s: ScanState, now: number): ScanState {
  const held = Object.keys(s.pending);
  if (held.length === 0) return s.gapSince === null ? s : { ...s, gapSince: null };
  let out = s;
  let pending = s.pending;
  for (;;) {
    const next = pending[out.lastSeq + 1];
    if (next === undefined) break;
    out = apply(out, next, now);
  }
  const rest: Record<number, ServerMessage> = {};
  let left = 0;
  for (const k of Object.keys(pending)) {
    const seq = Number(k);
    if (seq > out.lastSeq) {
      rest[seq] = pending[seq];
      left += 1;
    }
  }
  pending = rest;
  return { ...out, pending, gapSince: left ? (s.gapSince ?? now) : null };
}

/** Applies the message that follows `lastSeq`. */
function apply(s: ScanState, m: ServerMessage, now: number): ScanState {
  const next = { ...s, lastSeq: m.seq };
  switch (m.type) {
    case "STARTED":
      return { ...next, status: "RUNNING", message: m.message, startedAt: next.startedAt ?? now, error: null };
    case "PROGRESS":
      return {
        ...next,
        processed: Math.max(s.processed, m.processed),
        total: Math.max(s.total, m.total),
        matches: Math.max(s.matches, m.matches),
        errors: Math.max(s.errors, m.errors),
      };
    case "MATCH_FOUND": {
      const rows = addRows(s, [m.data]);
      // Counters follow the rows even before the next PROGRESS says so.
      return {
        ...next,
        ...rows,
        matches: Math.max(s.matches, rows.rows.length),
        processed: Math.max(s.processed, rows.rows.length + s.fileErrors.length),
      };
    }
    case "FILE_ERROR": {
      const fileErrors = addErrors(s.fileErrors, [m.data]);
      return {
        ...next,
        fileErrors,
        errors: Math.max(s.errors, fileErrors.length),
        processed: Math.max(s.processed, s.rows.length + fileErrors.length),
      };
    }
    case "COMPLETE":
      return {
        ...next,
        status: "COMPLETE",
        processed: m.total_processed,
        total: m.total_processed,
        matches: m.total_matches,
        errors: m.errors,
        skipped: m.skipped,
        codesFound: m.codes_found,
        codesNotFound: m.codes_not_found,
        codesFoundCount: m.codes_found_count,
        codesNotFoundCount: m.codes_not_found_count,
        codesTruncated: m.codes_truncated,
        downloadUrl: m.download_url,
        message: m.message,
        finishedAt: now,
      };
    case "CANCELLED":
      return { ...next, status: "CANCELLED", message: m.message, finishedAt: now };
    case "ERROR":
      return { ...next, status: "FAILED", message: m.message, error: { code: m.code, message: m.message }, finishedAt: now };
    default:
      return next;
  }
}

export function isActive(status: ScanStatus): boolean {
  return status === "RUNNING" || status === "FINALIZING";
}
