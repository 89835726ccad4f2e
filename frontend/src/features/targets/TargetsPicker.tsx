import { useRef, useState } from "react";
import type { TargetsInfo } from "../../lib/scanState";
import { fmtInt } from "../../lib/format";

interface Props {
  fileName: string | null;
  targets: TargetsInfo | null;
  busy: boolean;
  error: string | null;
  disabled: boolean;
  onFile: (f: File) => void;
  sheet: string;
  column: string;
  /** Sheet or column changed: read the list again with them. */
  onWhere: (sheet: string, column: string) => void;
}

export function TargetsPicker({ fileName, targets, busy, error, disabled, onFile, sheet, column, onWhere }: Props) {
  const input = useRef<HTMLInputElement>(null);
  const [draft, setDraft] = useState({ sheet, column });
  const commit = () => {
    if (draft.sheet !== sheet || draft.column !== column) onWhere(draft.sheet.trim(), draft.column.trim());
  };
  const field =
    "w-full rounded-md border border-slate-300 bg-white px-2 py-1 text-sm focus:border-sky-600 focus:outline-none focus:ring-2 focus:ring-sky-600/30";
  return (
    <fieldset className="min-w-0 space-y-2" disabled={disabled}>
      <legend className="text-sm font-semibold text-slate-800">Code list</legend>
      <div className="flex items-center gap-2">
        <button
          type="button"
          onClick={() => input.current?.click()}
          className="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 shadow-sm hover:bg-slate-50 focus:outline-none focus:ring-2 focus:ring-sky-600/40 disabled:opacity-50"
        >
          Choose file…
        </button>
        <span className="truncate text-sm text-slate-600">{fileName ?? ".xlsx, .xls, .ods or .csv"}</span>
        <input
          ref={input}
          data-testid="targets-input"
          type="file"
          accept=".xlsx,.xlsm,.xls,.ods,.csv,.txt"
          className="hidden"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) onFile(f);
            e.target.value = "";
          }}
        />
      </div>
      <div className="grid grid-cols-2 gap-2">
        <label className="text-xs font-medium text-slate-600">
          Sheet <span className="font-normal text-slate-400">(first)</span>
          <input
            className={field}
            value={draft.sheet}
            placeholder="name or number"
            onChange={(e) => setDraft((d) => ({ ...d, sheet: e.target.value }))}
            onBlur={commit}
            onKeyDown={(e) => e.key === "Enter" && commit()}
          />
        </label>
        <label className="text-xs font-medium text-slate-600">
          Column <span className="font-normal text-slate-400">(A)</span>
          <input
            className={field}
            value={draft.column}
            placeholder="letter or header"
            onChange={(e) => setDraft((d) => ({ ...d, column: e.target.value }))}
            onBlur={commit}
            onKeyDown={(e) => e.key === "Enter" && commit()}
          />
        </label>
      </div>
      <div className="min-h-[4.5rem] overflow-hidden rounded-md bg-slate-50 px-3 py-2 text-sm" aria-live="polite">
        {busy && <p className="text-slate-500">Reading the list…</p>}
        {!busy && error && <p className="text-red-700">{error}</p>}
        {!busy && !error && targets && (
          <div data-testid="targets-summary">
            <p className="text-slate-800">
              <strong className="tabular-nums">{fmtInt(targets.count)}</strong> codes from sheet <strong>{targets.sheet}</strong>, column{" "}
              <strong>{targets.column}</strong>
              {targets.duplicates > 0 && <span className="text-slate-500"> · {fmtInt(targets.duplicates)} duplicates dropped</span>}
            </p>
            <p className="mt-1 truncate font-mono text-xs text-slate-500" title={targets.sample.join(", ")}>
              {targets.sample.join(", ")}
              {targets.count > targets.sample.length ? ", …" : ""}
            </p>
          </div>
        )}
        {!busy && !error && !targets && <p className="text-slate-500">Without a list, every drawing is reported with the codes found on it.</p>}
      </div>
    </fieldset>
  );
}
