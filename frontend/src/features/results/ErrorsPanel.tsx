import type { FileErrorData } from "../../lib/protocol";
import { fmtInt } from "../../lib/format";

export function ErrorsPanel({ errors }: { errors: FileErrorData[] }) {
  return (
    <section aria-labelledby="errors-title" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <h2 id="errors-title" className="text-base font-semibold text-slate-900">
        Unreadable files <span className="ml-1 rounded-full bg-slate-100 px-2 py-0.5 text-xs font-semibold tabular-nums text-slate-700">{fmtInt(errors.length)}</span>
      </h2>
      {errors.length === 0 ? (
        <p className="mt-2 text-sm text-slate-500">None so far.</p>
      ) : (
        <ul className="mt-2 max-h-56 overflow-auto text-sm" data-testid="errors-list">
          {errors.map((e) => (
            <li key={e.path} className="border-b border-slate-100 py-1.5">
              <div className="truncate font-mono text-xs text-slate-800" title={e.path}>{e.path}</div>
              <div className="text-xs text-red-700">{e.error}</div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
