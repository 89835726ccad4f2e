import { useEffect, useMemo, useState } from "react";
import { socketUrl, readToken, useScanSocket } from "./lib/useScanSocket";
import { isActive } from "./lib/scanState";
import { sendsInline, uploadLocation, type TargetsInput } from "./lib/protocol";
import { readAsBase64 } from "./lib/format";
import { ConnectionIndicator } from "./features/connection/ConnectionIndicator";
import { SourcePicker } from "./features/scan/SourcePicker";
import { ProgressPanel } from "./features/scan/ProgressPanel";
import { TargetsPicker } from "./features/targets/TargetsPicker";
import { ResultsTable } from "./features/results/ResultsTable";
import { CodesPanel } from "./features/results/CodesPanel";
import { ErrorsPanel } from "./features/results/ErrorsPanel";
import { ReportButton } from "./features/report/ReportButton";

function useNow(active: boolean) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return active ? now : Date.now();
}

export function App() {
  const token = useMemo(() => readToken(), []);
  const url = useMemo(() => socketUrl(import.meta.env.VITE_WEBSOCKET_URL, token), [token]);
  const scan = useScanSocket(token ? url : null);
  const { state } = scan;
  const [source, setSource] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [targets, setTargets] = useState<TargetsInput>({});
  const [listName, setListName] = useState<string | null>(null);
  const [listFile, setListFile] = useState<File | null>(null);
  const [where, setWhere] = useState({ sheet: "", column: "" });
  const [listBusy, setListBusy] = useState(false);
  const [listError, setListError] = useState<string | null>(null);
  const [startError, setStartError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const active = isActive(state.status);
  const now = useNow(active);
  const open = scan.connection === "open";

  useEffect(() => {
    if (state.status !== "idle") setStarting(false);
  }, [state.status, state.sessionId]);
  useEffect(() => {
    if (state.error && starting) {
      setStarting(false);
      setStartError(state.error.message);
    }
  }, [state.error, starting]);

  const options = (w: { sheet: string; column: string }) =>
    w.sheet || w.column ? { ...(w.sheet ? { sheet: w.sheet } : {}), ...(w.column ? { column: w.column } : {}) } : undefined;

  const onListFile = async (f: File, w = where) => {
    setListName(f.name);
    setListFile(f);
    setListBusy(true);
    setListError(null);
    try {
      const input: TargetsInput =
        sendsInline(f.size) ? { file_content: await readAsBase64(f) } : { targets_upload: await scan.uploadTargets(f) };
      await scan.checkTargets(input, options(w));
      setTargets(input);
    } catch (e) {
      setTargets({});
      setListError((e as Error).message);
    } finally {
      setListBusy(false);
    }
  };

  const onStart = async () => {
    setStartError(null);
    setStarting(true);
    try {
      let location = source.trim();
      if (files.length) location = uploadLocation(await scan.uploadDrawings(files));
      scan.startScan(location, targets, options(where));
    } catch (e) {
      setStarting(false);
      setStartError((e as Error).message);
    }
  };

  if (!token) {
    return (
      <main className="mx-auto mt-24 max-w-lg rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <h1 className="text-lg font-semibold text-slate-900">isoscan needs an access token</h1>
        <p className="mt-2 text-sm text-slate-600">
          Open the address the server printed when it started; it ends in <code className="font-mono">?token=…</code>.
        </p>
      </main>
    );
  }

  const canStart = open && !active && !starting && (files.length > 0 || source.trim().length > 0) && !listBusy;
  return (
    <div className="min-h-screen">
      <header className="bg-[#0f3b66] text-white">
        <div className="mx-auto flex max-w-[1440px] items-center justify-between gap-4 px-6 py-3">
          <div className="flex items-baseline gap-3">
            <h1 className="text-lg font-bold tracking-tight">isoscan</h1>
            <span className="hidden text-sm text-sky-100 sm:inline">Hole codes across isometric drawings</span>
          </div>
          <ConnectionIndicator connection={scan.connection} />
        </div>
      </header>
      <main className="mx-auto grid max-w-[1440px] grid-cols-1 gap-5 px-6 py-5 lg:grid-cols-[340px_minmax(0,1fr)]">
        <aside className="space-y-5">
          <section aria-labelledby="new-scan" className="space-y-5 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
            <h2 id="new-scan" className="text-base font-semibold text-slate-900">New scan</h2>
            <SourcePicker value={source} onChange={setSource} files={files} onFiles={setFiles} uploads={scan.uploads} disabled={active || starting} />
            <TargetsPicker
              fileName={listName}
              targets={state.targets}
              busy={listBusy}
              error={listError}
              disabled={active || starting || !open}
              onFile={(f) => onListFile(f)}
              sheet={where.sheet}
              column={where.column}
              onWhere={(sheet, column) => {
                const w = { sheet, column };
                setWhere(w);
                if (listFile) void onListFile(listFile, w);
              }}
            />
            <div className="flex items-center gap-2 border-t border-slate-100 pt-4">
              <button
                type="button"
                onClick={onStart}
                disabled={!canStart}
                className="flex-1 rounded-md bg-sky-700 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-sky-800 focus:outline-none focus:ring-2 focus:ring-sky-600/50 disabled:cursor-not-allowed disabled:bg-slate-300"
              >
                {starting ? "Starting…" : "Start scan"}
              </button>
              <button
                type="button"
                onClick={scan.cancel}
                disabled={!active || !open}
                className="rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-800 shadow-sm hover:bg-slate-50 focus:outline-none focus:ring-2 focus:ring-sky-600/40 disabled:cursor-not-allowed disabled:opacity-50"
              >
                Cancel
              </button>
            </div>
            {(startError || (state.error && state.error.code !== "resubscribe")) && (
              <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="error">
                {startError ?? state.error?.message}
              </p>
            )}
          </section>
          <CodesPanel rows={state.rows} status={state.status} codesFound={state.codesFound} codesNotFound={state.codesNotFound} codesFoundCount={state.codesFoundCount} codesNotFoundCount={state.codesNotFoundCount} />
        </aside>
        <div className="min-w-0 space-y-5">
          <ProgressPanel state={state} now={now} />
          <div className="flex flex-wrap items-center justify-between gap-3">
            <ReportButton ready={state.status === "COMPLETE"} getLink={scan.reportLink} />
            {state.sessionId && <span className="font-mono text-xs text-slate-400">session {state.sessionId}</span>}
          </div>
          <ResultsTable rows={state.rows} />
          <ErrorsPanel errors={state.fileErrors} />
        </div>
      </main>
    </div>
  );
}
