// Generated from crates/core/src/protocol by crates/core/tests/protocol_ts.rs: do not edit.
// ISOSCAN_WRITE_PROTOCOL=1 cargo test -p isoscan-core --test protocol_ts writes it anew.

export type SessionStatus = "RUNNING" | "FINALIZING" | "COMPLETE" | "CANCELLED" | "FAILED";

export type ErrorCode = "too_large" | "malformed" | "no_action" | "unknown_action" | "bad_request" | "unauthorized" | "unknown_session" | "forbidden" | "not_running" | "not_ready" | "quota" | "bad_source" | "source_not_found" | "source_forbidden" | "unknown_upload" | "bad_upload" | "resubscribe" | "source" | "internal" | "unavailable";

export type UploadPurpose = "targets" | "drawings";

export type MatchData = { 
/**
 * Codes joined with ", ", as the original dashboard shows them.
 */
hole_code: string, file_name: string, status: string, pdf_link: string, path: string, codes: Array<string>, pages: { [key in string]: Array<number> }, ocr: boolean, };

export type FileErrorData = { path: string, file_name: string, error: string, };

export type SessionState = { status: SessionStatus, source: string, processed: number, total: number, matches: number, errors: number, skipped: number, listing_done: boolean, target_count: number, 
/**
 * Unix time in milliseconds.
 */
started_at: number, finished_at: number | null, download_url: string | null, 
/**
 * From COMPLETE, once the scan has completed: as cut there, with the full counts.
 */
codes_found: Array<string>, codes_not_found: Array<string>, codes_found_count: number, codes_not_found_count: number, codes_truncated: boolean, 
/**
 * The last message that ended the scan (COMPLETE's, CANCELLED's or ERROR's), if any.
 */
message: string | null, };

export type ServerMessage = { "type": "STARTED", message: string, total_files?: number, } | { "type": "PROGRESS", value: number, processed: number, total: number, matches: number, errors: number, } | { "type": "MATCH_FOUND", data: MatchData, } | { "type": "FILE_ERROR", data: FileErrorData, } | { "type": "COMPLETE", download_url: string, total_matches: number, total_processed: number, message: string, total_files: number, errors: number, skipped: number, 
/**
 * At most [`COMPLETE_CODES_MAX`] codes each; the counts and the report have them all.
 */
codes_found: Array<string>, codes_not_found: Array<string>, codes_found_count: number, codes_not_found_count: number, 
/**
 * Whether a list was cut to [`COMPLETE_CODES_MAX`].
 */
codes_truncated: boolean, 
/**
 * Files read that have pages without a text layer (only OCR could read those pages).
 */
needs_ocr: number, } | { "type": "CANCELLED", message: string, } | { "type": "ERROR", message: string, code: ErrorCode, } | { "type": "SYNC_STATE", session: SessionState, matches: Array<MatchData>, errors: Array<FileErrorData>, last_seq: number, } | { "type": "TARGETS", count: number, duplicates: number, sample: Array<string>, sheet: string, column: string, } | { "type": "UPLOAD_URL", url: string, key: string, expires_in: number, } | { "type": "REPORT_URL", download_url: string, expires_in: number, } | { "type": "PONG", };

export type ScanOptions = { sheet?: string, column?: string, pattern?: string, };

export type StartScanFields = { 
/**
 * The location: a folder, an archive, `upload:KEY`, `s3://…` or a Drive link.
 */
drive_link: string, target_hole_codes?: Array<string>, file_content?: string, targets_upload?: string, options?: ScanOptions, };

export type RequestUploadFields = { file_name: string, size: number, purpose: UploadPurpose, key?: string, };

export type CheckTargetsFields = { file_content?: string, targets_upload?: string, target_hole_codes?: Array<string>, sheet?: string, column?: string, };

export type SessionFields = { session_id: string, since?: number, };

export type Envelope = { session_id: string, seq: number, 
/**
 * When the message was sent live (Unix ms); absent on replays and replies.
 */
ts?: number, 
/**
 * On a reply: the `req_id` of the request it answers, when the request had one.
 */
req_id?: string, } & ({ "type": "STARTED", message: string, total_files?: number, } | { "type": "PROGRESS", value: number, processed: number, total: number, matches: number, errors: number, } | { "type": "MATCH_FOUND", data: MatchData, } | { "type": "FILE_ERROR", data: FileErrorData, } | { "type": "COMPLETE", download_url: string, total_matches: number, total_processed: number, message: string, total_files: number, errors: number, skipped: number, 
/**
 * At most [`COMPLETE_CODES_MAX`] codes each; the counts and the report have them all.
 */
codes_found: Array<string>, codes_not_found: Array<string>, codes_found_count: number, codes_not_found_count: number, 
/**
 * Whether a list was cut to [`COMPLETE_CODES_MAX`].
 */
codes_truncated: boolean, 
/**
 * Files read that have pages without a text layer (only OCR could read those pages).
 */
needs_ocr: number, } | { "type": "CANCELLED", message: string, } | { "type": "ERROR", message: string, code: ErrorCode, } | { "type": "SYNC_STATE", session: SessionState, matches: Array<MatchData>, errors: Array<FileErrorData>, last_seq: number, } | { "type": "TARGETS", count: number, duplicates: number, sample: Array<string>, sheet: string, column: string, } | { "type": "UPLOAD_URL", url: string, key: string, expires_in: number, } | { "type": "REPORT_URL", download_url: string, expires_in: number, } | { "type": "PONG", });

/** What the client sends: an action, its fields, and an optional id its replies echo. */
export type ClientMessage = { req_id?: string } & (
  | ({ action: "start_scan" } & StartScanFields)
  | ({ action: "request_upload" } & RequestUploadFields)
  | ({ action: "check_targets" } & CheckTargetsFields)
  | ({ action: "subscribe" } & SessionFields)
  | ({ action: "reconnect" } & SessionFields)
  | ({ action: "cancel_scan" } & SessionFields)
  | ({ action: "get_report" } & SessionFields)
  | { action: "ping" }
);

/** Largest client message, in bytes. */
export const MAX_CLIENT_MESSAGE = 131072;
/** Largest workbook sent inline (base64) with a message; larger lists are uploaded. */
export const MAX_FILE_CONTENT = 90112;
/** Longest `req_id` echoed. */
export const MAX_REQ_ID = 64;
/** What the location of an upload of drawings starts with (`start_scan`'s `drive_link`). */
export const UPLOAD_PREFIX = "upload:";
