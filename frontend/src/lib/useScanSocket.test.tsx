// The hook against a WebSocket server on loopback that speaks the protocol's wire format.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { act, renderHook, waitFor } from "@testing-library/react";
import { WebSocket as NodeWebSocket, WebSocketServer, type WebSocket as ServerSocket } from "ws";
import { socketUrl, useScanSocket } from "./useScanSocket";

let server: WebSocketServer;
let url: string;
let sockets: ServerSocket[];
let received: Record<string, unknown>[];

beforeEach(async () => {
  // jsdom's own WebSocket cannot dispatch its events in this environment; the ws client is a
  // real one speaking the same wire protocol.
  (globalThis as unknown as { WebSocket: unknown }).WebSocket = NodeWebSocket;
  sockets = [];
  received = [];
  server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise<void>((r) => server.on("listening", () => r()));
  const addr = server.address();
  url = `ws://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/ws`;
  server.on("connection", (s) => {
    sockets.push(s);
    s.on("message", (d) => received.push(JSON.parse(String(d))));
  });
  window.history.replaceState(null, "", "/?session=s1");
});

afterEach(async () => {
  for (const s of sockets) s.terminate();
  await new Promise((r) => server.close(r));
});

const last = () => sockets[sockets.length - 1];
const send = (m: object) => last().send(JSON.stringify(m));
const row = (path: string) => ({ hole_code: "HC-1", file_name: path, status: "1 Code", pdf_link: "", path, codes: ["HC-1"], pages: { "HC-1": [1] }, ocr: false });
const sync = (lastSeq: number, paths: string[] = []) => ({
  type: "SYNC_STATE", session_id: "s1", seq: 0, last_seq: lastSeq, matches: paths.map(row), errors: [],
  session: { status: "RUNNING", source: "/d", processed: 0, total: 3, matches: 0, errors: 0, skipped: 0, listing_done: true,
    target_count: 1, started_at: 1, finished_at: null, download_url: null, codes_found: [], codes_not_found: [], codes_found_count: 0, codes_not_found_count: 0, codes_truncated: false,
    message: null },
});
const match = (seq: number, path: string) => ({ type: "MATCH_FOUND", session_id: "s1", seq, data: row(path) });

describe("useScanSocket", () => {
  it("builds the socket URL from the page or VITE_WEBSOCKET_URL, with the token", () => {
    const loc = { protocol: "https:", host: "iso.example" } as Location;
    expect(socketUrl(undefined, "t k", loc)).toBe("wss://iso.example/ws?token=t%20k");
    expect(socketUrl("wss://abc.execute-api/prod", "t", loc)).toBe("wss://abc.execute-api/prod?token=t");
  });

  it("subscribes to the session in the URL, and after a drop resubscribes from the last seq", async () => {
    const { result } = renderHook(() => useScanSocket(url));
    await waitFor(() => expect(result.current.connection).toBe("open"));
    await waitFor(() => expect(received).toContainEqual({ action: "subscribe", session_id: "s1" }));
    act(() => {
      send(sync(1));
      send(match(2, "a.pdf"));
      send(match(3, "b.pdf"));
    });
    await waitFor(() => expect(result.current.state.rows).toHaveLength(2));
    act(() => last().close());
    await waitFor(() => expect(result.current.connection).toBe("reconnecting"));
    await waitFor(() => expect(result.current.connection).toBe("open"), { timeout: 5000 });
    await waitFor(() => expect(received).toContainEqual({ action: "subscribe", session_id: "s1", since: 3 }));
    act(() => {
      send(sync(3));
      send(match(3, "b.pdf"));
      send(match(4, "c.pdf"));
    });
    await waitFor(() => expect(result.current.state.rows.map((r) => r.path)).toEqual(["a.pdf", "b.pdf", "c.pdf"]));
    expect(result.current.state.lastSeq).toBe(4);
  });

  it("pairs each answer with its request by req_id, whatever order they come in", async () => {
    const { result } = renderHook(() => useScanSocket(url));
    await waitFor(() => expect(result.current.connection).toBe("open"));
    let first!: Promise<void>;
    let second!: Promise<string>;
    act(() => {
      first = result.current.checkTargets({ file_content: "eA==" });
      second = result.current.reportLink();
    });
    await waitFor(() => expect(received.filter((m) => typeof m.req_id === "string")).toHaveLength(2));
    const [check, report] = received.filter((m) => typeof m.req_id === "string");
    expect(check.action).toBe("check_targets");
    expect(report.action).toBe("get_report");
    expect(check.req_id).not.toBe(report.req_id);
    let settled = false;
    void first.then(
      () => (settled = true),
      () => (settled = true),
    );
    // An answer to no request of this page, and one without an id, settle nothing.
    act(() => {
      send({ type: "ERROR", session_id: "", seq: 0, code: "bad_request", message: "other", req_id: "elsewhere" });
      send({ type: "ERROR", session_id: "", seq: 0, code: "bad_request", message: "no id" });
    });
    // The later request is answered first; the earlier one is refused.
    act(() => send({ type: "REPORT_URL", session_id: "s1", seq: 0, download_url: "http://r/1", expires_in: 60, req_id: report.req_id }));
    await expect(second).resolves.toBe("http://r/1");
    expect(settled).toBe(false);
    act(() => send({ type: "ERROR", session_id: "", seq: 0, code: "bad_request", message: "code list: empty", req_id: check.req_id }));
    await expect(first).rejects.toThrow("code list: empty");
  });

  it("catches up when told it fell behind", async () => {
    const { result } = renderHook(() => useScanSocket(url));
    await waitFor(() => expect(result.current.connection).toBe("open"));
    act(() => {
      send(sync(0));
      send(match(1, "a.pdf"));
      send({ type: "ERROR", session_id: "s1", seq: 0, code: "resubscribe", message: "fell behind" });
    });
    await waitFor(() => expect(received).toContainEqual({ action: "subscribe", session_id: "s1", since: 1 }));
  });

  it("asks the log for what follows a gap that stays", async () => {
    const { result } = renderHook(() => useScanSocket(url));
    await waitFor(() => expect(result.current.connection).toBe("open"));
    act(() => {
      send(sync(1));
      send(match(2, "a.pdf"));
      send(match(4, "c.pdf"));
    });
    await waitFor(() => expect(result.current.state.rows).toHaveLength(1));
    await waitFor(() => expect(received).toContainEqual({ action: "subscribe", session_id: "s1", since: 2 }), { timeout: 5000 });
    act(() => {
      send(sync(2));
      send(match(3, "b.pdf"));
      send(match(4, "c.pdf"));
    });
    await waitFor(() => expect(result.current.state.rows.map((r) => r.path)).toEqual(["a.pdf", "b.pdf", "c.pdf"]));
    expect(result.current.state.lastSeq).toBe(4);
  });

  it("reloads a scan of 5,000 matches with every row, over snapshots that fit and replays cut short", async () => {
    // The server as DESIGN.md has it: a snapshot with the rows that fit (300 here) for a
    // client without `since`, the counters alone for one with it; then the log after the
    // snapshot until its time is up (1,000 messages), then `resubscribe`.
    const total = 5_000;
    let subscribes = 0;
    server.on("connection", (sock) =>
      sock.on("message", (d) => {
        const m = JSON.parse(String(d));
        if (m.action !== "subscribe") return;
        subscribes += 1;
        const since: number = m.since ?? 0;
        const upTo = m.since === undefined ? Math.min(total, 300) : since;
        const paths = Array.from({ length: upTo - since }, (_, i) => `d${since + i + 1}.pdf`);
        sock.send(JSON.stringify(sync(upTo, paths)));
        const end = Math.min(total, upTo + 1_000);
        for (let seq = upTo + 1; seq <= end; seq++) sock.send(JSON.stringify(match(seq, `d${seq}.pdf`)));
        if (end < total) sock.send(JSON.stringify({ type: "ERROR", session_id: "s1", seq: 0, code: "resubscribe", message: "more" }));
      }),
    );
    const { result } = renderHook(() => useScanSocket(url));
    await waitFor(() => expect(result.current.state.rows).toHaveLength(total), { timeout: 25_000 });
    expect(new Set(result.current.state.rows.map((r) => r.path)).size).toBe(total);
    expect(result.current.state.lastSeq).toBe(total);
    expect(subscribes).toBe(5);
  }, 30_000);
});
