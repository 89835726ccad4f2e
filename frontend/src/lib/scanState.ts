// What the dashboard knows of a scan, built only from server messages. Messages are delivered
// at least once: anything at or below the last `seq` seen is ignored, rows are unique by path.
import type { FileErrorData, MatchData, ServerMessage, SessionState } from "./protocol";

export type ScanStatus = "idle" | SessionState["status"];

export interface TargetsInfo {
  count: number;
  duplicates: number;
  sample: string[];
  sheet: string;
  column: string;
}

export interface ScanState {
  sessionId: string | null;
  lastSeq: number;
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
  downloadUrl: string | null;
  message: string | null;
  /** The last error the server reported for a request (seq 0) or for the scan. */
  error: { code: string; message: string } | null;
  targets: TargetsInfo | null;
}

export const initialScanState: ScanState = {
  sessionId: null,
  lastSeq: 0,
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
      return {
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
        codesFound: st.codes_found.length ? st.codes_found : base.codesFound,
        codesNotFound: st.codes_not_found.length ? st.codes_not_found : base.codesNotFound,
        downloadUrl: st.download_url ?? base.downloadUrl,
        message: st.message ?? base.message,
        error: null,
      };
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
