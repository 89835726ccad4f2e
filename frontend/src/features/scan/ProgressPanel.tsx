import { fmtDuration, fmtInt, fmtRate } from "../../lib/format";
import type { ScanState } from "../../lib/scanState";

const STATUS: Record<string, { label: string; tone: string }> = {
  idle: { label: "No scan yet", tone: "bg-slate-100 text-slate-700" },
  RUNNING: { label: "Scanning", tone: "bg-sky-100 text-sky-800" },
  FINALIZING: { label: "Writing report", tone: "bg-sky-100 text-sky-800" },
  COMPLETE: { label: "Complete", tone: "bg-emerald-100 text-emerald-800" },
  CANCELLED: { label: "Cancelled", tone: "bg-amber-100 text-amber-800" },
  FAILED: { label: "Failed", tone: "bg-red-100 text-red-800" },
};

function Stat({ label, value, tone = "text-slate-900", testId }: { label: string; value: string; tone?: string; testId?: string }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</dt>
      <dd data-testid={testId} className={`mt-0.5 whitespace-nowrap text-xl font-semibold tabular-nums xl:text-2xl ${tone}`}>
        {value}
      </dd>
    </div>
  );
}

export function ProgressPanel({ state, now }: { state: ScanState; now: number }) {
  const { processed, total, matches, errors } = state;
  const pct = total > 0 ? Math.min(100, (100 * processed) / total) : state.status === "COMPLETE" ? 100 : 0;
  const end = state.finishedAt ?? Math.max(now, Date.now());
  const elapsed = state.startedAt ? Math.max(0, (end - state.startedAt) / 1000) : 0;
  // A rate over less than a second says nothing yet.
  const rate = elapsed >= 1 ? processed / elapsed : 0;
  const remaining = Math.max(0, total - processed);
  const eta = state.status === "RUNNING" && rate > 0 && total > 0 ? remaining / rate : NaN;
  const s = STATUS[state.status] ?? STATUS.idle;
  return (
    <section aria-labelledby="progress-title" className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div className="flex min-w-0 items-center gap-3">
          <h2 id="progress-title" className="text-base font-semibold text-slate-900">
            Progress
          </h2>
          <span data-testid="scan-status" className={`rounded-full px-2.5 py-0.5 text-xs font-semibold ${s.tone}`}>
            {s.label}
          </span>
        </div>
        {state.source && (
          <span className="truncate font-mono text-xs text-slate-500" title={state.source}>
            {state.source}
          </span>
        )}
      </div>
      <div
        className="mt-4 h-3 overflow-hidden rounded-full bg-slate-100"
        role="progressbar"
        aria-label="Files processed"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(pct)}
      >
        <div
          className={`h-full rounded-full transition-[width] duration-300 ${state.status === "COMPLETE" ? "bg-emerald-600" : "bg-sky-600"}`}
          style={{ width: `${pct}%` }}
        />
      </div>
      <dl className="mt-4 grid grid-cols-2 gap-4 sm:grid-cols-[1.7fr_1fr_1fr_1fr_1fr]">
        <Stat label="Processed" testId="processed" value={`${fmtInt(processed)} / ${total > 0 ? fmtInt(total) : "…"}`} />
        <Stat label="Files / s" value={fmtRate(rate)} />
        <Stat label={state.status === "RUNNING" ? "ETA" : "Elapsed"} value={state.status === "RUNNING" ? fmtDuration(eta) : elapsed ? fmtDuration(elapsed) : "–"} />
        <Stat label="With a match" testId="matches" value={fmtInt(matches)} tone="text-emerald-700" />
        <Stat label="Unreadable" testId="errors" value={fmtInt(errors)} tone={errors > 0 ? "text-red-700" : "text-slate-900"} />
      </dl>
      {state.message && <p className="mt-3 text-sm text-slate-600" data-testid="scan-message">{state.message}</p>}
    </section>
  );
}
