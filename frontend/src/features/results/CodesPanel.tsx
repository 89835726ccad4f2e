import { useMemo } from "react";
import type { MatchData } from "../../lib/protocol";
import type { ScanStatus } from "../../lib/scanState";
import { fmtInt } from "../../lib/format";

interface Props {
  rows: MatchData[];
  status: ScanStatus;
  codesFound: string[];
  codesNotFound: string[];
  /** The full counts; the lists may stop short of them (the report has every code). */
  codesFoundCount: number;
  codesNotFoundCount: number;
}

export function CodesPanel({ rows, status, codesFound, codesNotFound, codesFoundCount, codesNotFoundCount }: Props) {
  const foundLive = useMemo(() => {
    const s = new Set<string>();
    for (const r of rows) for (const c of r.codes) s.add(c);
    return s.size;
  }, [rows]);
  const complete = status === "COMPLETE";
  const found = complete ? Math.max(codesFoundCount, codesFound.length) : foundLive;
  const notFound = Math.max(codesNotFoundCount, codesNotFound.length);
  return (
    <section aria-labelledby="codes-title" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <h2 id="codes-title" className="text-base font-semibold text-slate-900">Codes</h2>
      <dl className="mt-3 grid grid-cols-2 gap-3">
        <div className="rounded-md bg-emerald-50 px-3 py-2">
          <dt className="text-xs font-medium text-emerald-800">Found</dt>
          <dd className="text-xl font-semibold tabular-nums text-emerald-900" data-testid="codes-found">{fmtInt(found)}</dd>
        </div>
        <div className="rounded-md bg-amber-50 px-3 py-2">
          <dt className="text-xs font-medium text-amber-800">In no drawing</dt>
          <dd className="text-xl font-semibold tabular-nums text-amber-900" data-testid="codes-not-found">{complete ? fmtInt(notFound) : "–"}</dd>
        </div>
      </dl>
      <div className="mt-3">
        <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500">Codes no drawing mentions</h3>
        {complete ? (
          codesNotFound.length ? (
            <>
              <ul className="mt-1 max-h-48 overflow-auto font-mono text-xs text-slate-800" data-testid="not-found-list">
                {codesNotFound.map((c) => (
                  <li key={c} className="border-b border-slate-100 py-1">{c}</li>
                ))}
              </ul>
              {notFound > codesNotFound.length && (
                <p className="mt-1 text-xs text-slate-600" data-testid="not-found-more">
                  The first {fmtInt(codesNotFound.length)} of {fmtInt(notFound)}: the report lists every code.
                </p>
              )}
            </>
          ) : (
            <p className="mt-1 text-sm text-slate-600">Every code was found.</p>
          )
        ) : (
          <p className="mt-1 text-sm text-slate-500">Known when the scan completes.</p>
        )}
      </div>
    </section>
  );
}
