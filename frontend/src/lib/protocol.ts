// The protocol of DESIGN.md as the dashboard reads and speaks it. The types are generated from
// the server's Rust types (protocol.gen.ts); this file names them as the dashboard uses them.
import type { Envelope, StartScanFields } from "./protocol.gen";
import { MAX_FILE_CONTENT, UPLOAD_PREFIX } from "./protocol.gen";

export type {
  ClientMessage,
  ErrorCode,
  FileErrorData,
  MatchData,
  SessionState,
  SessionStatus,
  UploadPurpose,
} from "./protocol.gen";

/** A message as it arrives: the server message in its envelope (session, `seq`, `req_id`). */
export type ServerMessage = Envelope;

/** The ways a code list is given (one of them). */
export type TargetsInput = Pick<StartScanFields, "target_hole_codes" | "file_content" | "targets_upload">;

/** Largest workbook sent inline (base64) with a message; larger lists are uploaded. */
export const MAX_INLINE_WORKBOOK = MAX_FILE_CONTENT;

/** How a code list of `size` bytes travels: inline while its message fits one API Gateway
 * message (base64 makes it a third larger), else as an upload. */
export function sendsInline(size: number): boolean {
  return size <= MAX_INLINE_WORKBOOK;
}

/** The location of an upload of drawings, as `start_scan` takes it. */
export function uploadLocation(key: string): string {
  return `${UPLOAD_PREFIX}${key}`;
}

export function parseServerMessage(text: string): ServerMessage | null {
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && typeof v.type === "string" ? (v as ServerMessage) : null;
  } catch {
    return null;
  }
}
