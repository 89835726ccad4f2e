// The socket logic of the dashboard, in one hook: connection and reconnection with backoff,
// a keep-alive ping, resubscribing from the last `seq` seen, the session in the URL, and the
// request/answer pairs (uploads, code list checks, report links), paired by the `req_id` the
// server echoes.
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
// The named export: the package is CommonJS, and its default export does not survive every
// bundler's interop.
import { useWebSocket } from "react-use-websocket/dist/lib/use-websocket";
import { ReadyState } from "react-use-websocket";
import type { ClientMessage, ServerMessage, TargetsInput } from "./protocol";
import { parseServerMessage } from "./protocol";
import { initialScanState, scanReducer, type ScanState } from "./scanState";

export type Connection = "connecting" | "open" | "reconnecting" | "closed";

/** API Gateway drops sockets idle for 10 minutes; a ping every 4 keeps them. */
export const PING_INTERVAL_MS = 4 * 60 * 1000;
/** How long a gap in `seq` may stay before the client asks the log for what follows. */
export const GAP_WAIT_MS = 1_500;

export interface UploadProgress {
  name: string;
  loaded: number;
  total: number;
  state: "uploading" | "done" | "failed";
  error?: string;
}

type AnswerType = "UPLOAD_URL" | "TARGETS" | "REPORT_URL";
interface Pending {
  type: AnswerType;
  resolve: (m: ServerMessage) => void;
  reject: (e: Error) => void;
}

let lastReqId = 0;
/** A `req_id` unique in this page. */
function nextReqId(): string {
  lastReqId += 1;
  return `r${lastReqId}`;
}

export function socketUrl(explicit: string | undefined, token: string | null, loc: Location = window.location): string {
  const base = explicit && explicit.length > 0 ? explicit : `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws`;
  if (!token) return base;
  return `${base}${base.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

/** The token from `?token=` (then kept in this browser and taken out of the address bar). */
export function readToken(): string | null {
  const params = new URLSearchParams(window.location.search);
  const t = params.get("token");
  if (t) {
    try {
      localStorage.setItem("isoscan.token", t);
    } catch {
      /* storage may be off; the token then lives in this page only */
    }
    params.delete("token");
    const q = params.toString();
    window.history.replaceState(null, "", `${window.location.pathname}${q ? `?${q}` : ""}`);
    return t;
  }
  try {
    return localStorage.getItem("isoscan.token");
  } catch {
    return null;
  }
}

function sessionFromUrl(): string | null {
  return new URLSearchParams(window.location.search).get("session");
}

function putSessionInUrl(id: string | null) {
  const params = new URLSearchParams(window.location.search);
  if (id) params.set("session", id);
  else params.delete("session");
  const q = params.toString();
  window.history.replaceState(null, "", `${window.location.pathname}${q ? `?${q}` : ""}`);
}

/** Uploads a file to a signed URL with progress. */
function putFile(url: string, file: Blob, onProgress: (loaded: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(xhr.responseText || `upload failed (${xhr.status})`));
    xhr.onerror = () => reject(new Error("the upload was interrupted"));
    xhr.send(file);
  });
}

export interface ScanSocket {
  state: ScanState;
  connection: Connection;
  uploads: UploadProgress[];
  send: (m: ClientMessage) => void;
  startScan: (source: string, targets: TargetsInput, options?: { sheet?: string; column?: string }) => void;
  cancel: () => void;
  checkTargets: (targets: TargetsInput, options?: { sheet?: string; column?: string }) => Promise<void>;
  uploadDrawings: (files: File[]) => Promise<string>;
  uploadTargets: (file: File) => Promise<string>;
  reportLink: () => Promise<string>;
  follow: (sessionId: string) => void;
  clearError: () => void;
}

export function useScanSocket(url: string | null): ScanSocket {
  const [state, dispatch] = useReducer(scanReducer, initialScanState, (s) => {
    const id = sessionFromUrl();
    return id ? { ...s, sessionId: id } : s;
  });
  const [connection, setConnection] = useState<Connection>("connecting");
  const [uploads, setUploads] = useState<UploadProgress[]>([]);
  const stateRef = useRef(state);
  stateRef.current = state;
  const pending = useRef(new Map<string, Pending>());
  const everOpen = useRef(false);

  const onMessage = useCallback((e: MessageEvent) => {
    const msg = parseServerMessage(typeof e.data === "string" ? e.data : "");
    if (!msg) return;
    const waiting = msg.req_id !== undefined ? pending.current.get(msg.req_id) : undefined;
    if (waiting && msg.req_id !== undefined) {
      pending.current.delete(msg.req_id);
      if (msg.type === waiting.type) waiting.resolve(msg);
      else waiting.reject(new Error(msg.type === "ERROR" ? msg.message : `unexpected answer ${msg.type}`));
    }
    dispatch({ type: "server", msg, now: Date.now() });
  }, []);

  const { sendMessage, readyState } = useWebSocket(
    url,
    {
      onMessage,
      shouldReconnect: () => true,
      retryOnError: true,
      reconnectAttempts: Number.MAX_SAFE_INTEGER,
      reconnectInterval: (n) => Math.min(30_000, 500 * 2 ** n),
      onOpen: () => {
        everOpen.current = true;
      },
      onClose: () => {
        for (const p of pending.current.values()) p.reject(new Error("the connection closed; try again"));
        pending.current.clear();
      },
    },
    url !== null,
  );

  useEffect(() => {
    if (readyState === ReadyState.OPEN) setConnection("open");
    else if (readyState === ReadyState.CONNECTING) setConnection(everOpen.current ? "reconnecting" : "connecting");
    else if (readyState === ReadyState.CLOSED || readyState === ReadyState.CLOSING)
      setConnection(everOpen.current ? "reconnecting" : "closed");
    else setConnection("closed");
  }, [readyState]);

  const send = useCallback((m: ClientMessage) => sendMessage(JSON.stringify(m)), [sendMessage]);

  // (Re)subscribe whenever the socket opens: from the last seq seen, or for a snapshot.
  useEffect(() => {
    if (readyState !== ReadyState.OPEN) return;
    const s = stateRef.current;
    if (s.sessionId) {
      send(s.lastSeq > 0 ? { action: "subscribe", session_id: s.sessionId, since: s.lastSeq } : { action: "subscribe", session_id: s.sessionId });
    }
  }, [readyState, send]);

  // A gap in `seq` that stays: ask the log for what follows the last message applied.
  useEffect(() => {
    if (state.gapSince === null || !state.sessionId || readyState !== ReadyState.OPEN) return;
    const id = state.sessionId;
    const t = setTimeout(() => send({ action: "subscribe", session_id: id, since: stateRef.current.lastSeq }), GAP_WAIT_MS);
    return () => clearTimeout(t);
  }, [state.gapSince, state.lastSeq, state.sessionId, readyState, send]);

  // Told it fell behind, or that a replay stopped short: catch up from the log.
  useEffect(() => {
    if (state.error?.code === "resubscribe" && state.sessionId) {
      send({ action: "subscribe", session_id: state.sessionId, since: stateRef.current.lastSeq });
      dispatch({ type: "clear-error" });
    }
  }, [state.error, state.sessionId, send]);

  useEffect(() => {
    if (readyState !== ReadyState.OPEN) return;
    const t = setInterval(() => send({ action: "ping" }), PING_INTERVAL_MS);
    return () => clearInterval(t);
  }, [readyState, send]);

  useEffect(() => {
    if (state.sessionId !== sessionFromUrl()) putSessionInUrl(state.sessionId);
  }, [state.sessionId]);

  const ask = useCallback(
    (m: ClientMessage, type: AnswerType): Promise<ServerMessage> =>
      new Promise((resolve, reject) => {
        if (readyState !== ReadyState.OPEN) {
          reject(new Error("not connected to the server"));
          return;
        }
        const req_id = nextReqId();
        pending.current.set(req_id, { type, resolve, reject });
        send({ ...m, req_id });
      }),
    [readyState, send],
  );

  const startScan = useCallback(
    (source: string, targets: TargetsInput, options?: { sheet?: string; column?: string }) => {
      dispatch({ type: "clear-error" });
      send({ action: "start_scan", drive_link: source, ...targets, ...(options ? { options } : {}) });
    },
    [send],
  );

  const cancel = useCallback(() => {
    const id = stateRef.current.sessionId;
    if (id) send({ action: "cancel_scan", session_id: id });
  }, [send]);

  const checkTargets = useCallback(
    async (targets: TargetsInput, options?: { sheet?: string; column?: string }) => {
      dispatch({ type: "clear-targets" });
      await ask({ action: "check_targets", ...targets, ...(options ?? {}) }, "TARGETS");
    },
    [ask],
  );

  const upload = useCallback(
    async (file: File, purpose: "targets" | "drawings", key?: string): Promise<string> => {
      const answer = await ask(
        { action: "request_upload", file_name: file.name, size: file.size, purpose, ...(key ? { key } : {}) },
        "UPLOAD_URL",
      );
      if (answer.type !== "UPLOAD_URL") throw new Error("unexpected answer");
      const update = (p: Partial<UploadProgress>) =>
        setUploads((list) => list.map((u) => (u.name === file.name ? { ...u, ...p } : u)));
      try {
        await putFile(answer.url, file, (loaded) => update({ loaded }));
        update({ loaded: file.size, state: "done" });
      } catch (e) {
        update({ state: "failed", error: (e as Error).message });
        throw e;
      }
      return answer.key;
    },
    [ask],
  );

  const uploadDrawings = useCallback(
    async (files: File[]) => {
      setUploads(files.map((f) => ({ name: f.name, loaded: 0, total: f.size, state: "uploading" })));
      let key: string | undefined;
      for (const f of files) key = await upload(f, "drawings", key);
      if (!key) throw new Error("no file to upload");
      return key;
    },
    [upload],
  );

  const uploadTargets = useCallback((file: File) => upload(file, "targets"), [upload]);

  const reportLink = useCallback(async () => {
    const id = stateRef.current.sessionId;
    if (!id) throw new Error("no scan");
    const m = await ask({ action: "get_report", session_id: id }, "REPORT_URL");
    if (m.type !== "REPORT_URL") throw new Error("unexpected answer");
    return m.download_url;
  }, [ask]);

  const follow = useCallback(
    (sessionId: string) => {
      dispatch({ type: "follow", sessionId });
      send({ action: "subscribe", session_id: sessionId });
    },
    [send],
  );

  const clearError = useCallback(() => dispatch({ type: "clear-error" }), []);

  return { state, connection, uploads, send, startScan, cancel, checkTargets, uploadDrawings, uploadTargets, reportLink, follow, clearError };
}
