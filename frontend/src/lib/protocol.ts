// The protocol of DESIGN.md as the dashboard reads and speaks it.

export interface MatchData {
  hole_code: string;
  file_name: string;
  status: string;
  pdf_link: string;
  path: string;
  codes: string[];
  pages: Record<string, number[]>;
  ocr: boolean;
}

export interface FileErrorData {
  path: string;
  file_name: string;
  error: string;
}

export interface SessionState {
  status: "RUNNING" | "FINALIZING" | "COMPLETE" | "CANCELLED" | "FAILED";
  source: string;
  processed: number;
  total: number;
  matches: number;
  errors: number;
  skipped: number;
  listing_done: boolean;
  target_count: number;
  started_at: number;
  finished_at: number | null;
  download_url: string | null;
  codes_found: string[];
  codes_not_found: string[];
  message: string | null;
}

interface Base {
  session_id: string;
  seq: number;
  /** When the server sent it live (Unix ms). */
  ts?: number;
}

export type ServerMessage = Base &
  (
    | { type: "STARTED"; message: string; total_files?: number }
    | { type: "PROGRESS"; value: number; processed: number; total: number; matches: number; errors: number }
    | { type: "MATCH_FOUND"; data: MatchData }
    | { type: "FILE_ERROR"; data: FileErrorData }
    | {
        type: "COMPLETE";
        download_url: string;
        total_matches: number;
        total_processed: number;
        message: string;
        total_files: number;
        errors: number;
        skipped: number;
        codes_found: string[];
        codes_not_found: string[];
        needs_ocr?: number;
      }
    | { type: "CANCELLED"; message: string }
    | { type: "ERROR"; message: string; code: string }
    | { type: "SYNC_STATE"; session: SessionState; matches: MatchData[]; errors: FileErrorData[]; last_seq: number }
    | { type: "TARGETS"; count: number; duplicates: number; sample: string[]; sheet: string; column: string }
    | { type: "UPLOAD_URL"; url: string; key: string; expires_in: number }
    | { type: "REPORT_URL"; download_url: string; expires_in: number }
    | { type: "PONG" }
  );

export interface TargetsInput {
  target_hole_codes?: string[];
  file_content?: string;
  targets_upload?: string;
}

export type ClientMessage =
  | ({ action: "start_scan"; drive_link: string; options?: { sheet?: string; column?: string; pattern?: string } } & TargetsInput)
  | { action: "request_upload"; file_name: string; size: number; purpose: "targets" | "drawings"; key?: string }
  | ({ action: "check_targets"; sheet?: string; column?: string } & TargetsInput)
  | { action: "subscribe"; session_id: string; since?: number }
  | { action: "cancel_scan"; session_id: string }
  | { action: "get_report"; session_id: string }
  | { action: "ping" };

/** Largest workbook sent inline (base64) with a message; larger lists are uploaded. */
export const MAX_INLINE_WORKBOOK = 96 * 1024;

export function parseServerMessage(text: string): ServerMessage | null {
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && typeof v.type === "string" ? (v as ServerMessage) : null;
  } catch {
    return null;
  }
}
