import { useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { MatchData } from "../../lib/protocol";
import { fmtInt } from "../../lib/format";

type SortKey = "file" | "path" | "codes";
const ROW_HEIGHT = 44;

function pagesText(r: MatchData): string {
  return r.codes.map((c) => `${c}: p.${(r.pages[c] ?? []).join(", ")}`).join(" · ");
}

export function filterAndSort(rows: MatchData[], filter: string, key: SortKey | null, desc: boolean): MatchData[] {
  const q = filter.trim().toLowerCase();
  let out = q
    ? rows.filter((r) => r.path.toLowerCase().includes(q) || r.codes.some((c) => c.toLowerCase().includes(q)))
    : rows;
  if (key) {
    const cmp =
      key === "codes"
        ? (a: MatchData, b: MatchData) => a.codes.length - b.codes.length || a.path.localeCompare(b.path)
        : key === "file"
          ? (a: MatchData, b: MatchData) => a.file_name.localeCompare(b.file_name) || a.path.localeCompare(b.path)
          : (a: MatchData, b: MatchData) => a.path.localeCompare(b.path);
    out = [...out].sort((a, b) => (desc ? -cmp(a, b) : cmp(a, b)));
  }
  return out;
}

function Header({ label, k, sort, onSort, className = "" }: { label: string; k: SortKey; sort: { key: SortKey | null; desc: boolean }; onSort: (k: SortKey) => void; className?: string }) {
  const active = sort.key === k;
  return (
    <div role="columnheader" aria-sort={active ? (sort.desc ? "descending" : "ascending") : "none"} className={className}>
      <button type="button" onClick={() => onSort(k)} className="inline-flex items-center gap-1 rounded font-semibold hover:text-slate-900 focus:outline-none focus:ring-2 focus:ring-sky-600/40">
        {label}
        <span aria-hidden className={active ? "text-slate-700" : "text-slate-300"}>
          {active && sort.desc ? "▼" : "▲"}
        </span>
      </button>
    </div>
  );
}

const COLS = "grid grid-cols-[minmax(0,2.2fr)_minmax(0,2fr)_6.5rem_minmax(0,2fr)_4.5rem] gap-3";

export function ResultsTable({ rows }: { rows: MatchData[] }) {
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState<{ key: SortKey | null; desc: boolean }>({ key: null, desc: false });
  const view = useMemo(() => filterAndSort(rows, filter, sort.key, sort.desc), [rows, filter, sort]);
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: view.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    initialRect: { width: 1000, height: 480 },
  });
  const onSort = (k: SortKey) => setSort((s) => ({ key: k, desc: s.key === k ? !s.desc : false }));
  return (
    <section aria-labelledby="results-title" className="flex flex-col rounded-lg border border-slate-200 bg-white shadow-sm">
      <div className="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 px-4 py-3">
        <h2 id="results-title" className="text-base font-semibold text-slate-900">
          Drawings with a match{" "}
          <span className="ml-1 rounded-full bg-slate-100 px-2 py-0.5 text-xs font-semibold tabular-nums text-slate-700" data-testid="row-count">
            {filter ? `${fmtInt(view.length)} of ${fmtInt(rows.length)}` : fmtInt(rows.length)}
          </span>
        </h2>
        <input
          type="search"
          aria-label="Filter by code or file name"
          placeholder="Filter by code or file name"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          className="w-64 rounded-md border border-slate-300 px-3 py-1.5 text-sm focus:border-sky-600 focus:outline-none focus:ring-2 focus:ring-sky-600/30"
        />
      </div>
      <div role="table" aria-label="Drawings with a match" aria-rowcount={view.length} className="text-sm">
        <div role="row" className={`${COLS} border-b border-slate-200 bg-slate-50 px-4 py-2 text-xs text-slate-600`}>
          <Header label="File" k="file" sort={sort} onSort={onSort} />
          <div role="columnheader" className="font-semibold">Codes</div>
          <Header label="Status" k="codes" sort={sort} onSort={onSort} />
          <Header label="Pages / path" k="path" sort={sort} onSort={onSort} />
          <div role="columnheader" className="text-right font-semibold">Drawing</div>
        </div>
        <div ref={scroller} className="h-[480px] overflow-auto" data-testid="results-scroll">
          {view.length === 0 ? (
            <p className="px-4 py-10 text-center text-slate-500">{rows.length ? "No drawing matches this filter." : "Matches appear here as drawings are read."}</p>
          ) : (
            <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
              {virtual.getVirtualItems().map((v) => {
                const r = view[v.index];
                return (
                  <div
                    role="row"
                    key={r.path}
                    data-testid="result-row"
                    className={`${COLS} absolute left-0 right-0 items-center border-b border-slate-100 px-4 hover:bg-sky-50/60`}
                    style={{ height: ROW_HEIGHT, transform: `translateY(${v.start}px)` }}
                  >
                    <div role="cell" className="min-w-0">
                      <div className="truncate font-medium text-slate-900" title={r.file_name}>{r.file_name}</div>
                    </div>
                    <div role="cell" className="min-w-0 truncate font-mono text-xs text-slate-800" title={r.hole_code}>
                      {r.hole_code}
                    </div>
                    <div role="cell">
                      <span className="rounded bg-emerald-50 px-1.5 py-0.5 text-xs font-semibold text-emerald-800">{r.status}</span>
                    </div>
                    <div role="cell" className="min-w-0">
                      <div className="truncate text-xs text-slate-600" title={pagesText(r)}>{pagesText(r)}</div>
                      <div className="truncate font-mono text-[11px] text-slate-400" title={r.path}>{r.path}</div>
                    </div>
                    <div role="cell" className="text-right">
                      <a href={r.pdf_link} target="_blank" rel="noreferrer" className="text-sm font-medium text-sky-700 hover:underline focus:outline-none focus:ring-2 focus:ring-sky-600/40">
                        Open ↗
                      </a>
                    </div>
                  </div>
                );
              })}
            </div>
          )}
        </div>
      </div>
    </section>
  );
}
