import { useRef, useState } from "react";
import type { UploadProgress } from "../../lib/useScanSocket";

interface Props {
  value: string;
  onChange: (v: string) => void;
  files: File[];
  onFiles: (files: File[]) => void;
  uploads: UploadProgress[];
  disabled: boolean;
}

const accepted = (f: File) => /\.(pdf|zip)$/i.test(f.name);

export function SourcePicker({ value, onChange, files, onFiles, uploads, disabled }: Props) {
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const take = (list: FileList | null) => {
    const picked = Array.from(list ?? []).filter(accepted);
    if (picked.length) onFiles(picked);
  };
  return (
    <fieldset className="min-w-0 space-y-3" disabled={disabled}>
      <legend className="text-sm font-semibold text-slate-800">Drawings</legend>
      <div>
        <label htmlFor="source" className="mb-1 block text-xs font-medium text-slate-600">
          Folder path, Google Drive link or s3:// URL
        </label>
        <input
          id="source"
          type="text"
          value={value}
          placeholder="/projects/plant-a/isometrics"
          onChange={(e) => {
            onChange(e.target.value);
            if (files.length) onFiles([]);
          }}
          className="w-full rounded-md border border-slate-300 bg-white px-3 py-2 font-mono text-sm text-slate-900 shadow-sm placeholder:text-slate-400 focus:border-sky-600 focus:outline-none focus:ring-2 focus:ring-sky-600/30 disabled:bg-slate-100"
        />
      </div>
      <div
        role="button"
        tabIndex={0}
        aria-label="Drop PDF drawings or a zip here, or press Enter to choose files"
        onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && input.current?.click()}
        onClick={() => input.current?.click()}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          take(e.dataTransfer.files);
        }}
        className={`flex cursor-pointer flex-col items-center justify-center rounded-md border-2 border-dashed px-3 py-4 text-center text-sm transition-colors focus:outline-none focus:ring-2 focus:ring-sky-600/40 ${
          over ? "border-sky-500 bg-sky-50 text-sky-800" : "border-slate-300 bg-slate-50 text-slate-600 hover:border-slate-400"
        }`}
      >
        <span className="font-medium">or drop PDFs / a .zip here</span>
        <span className="text-xs text-slate-500">uploaded to the server when you start</span>
        <input
          ref={input}
          data-testid="drawings-input"
          type="file"
          multiple
          accept=".pdf,.zip"
          className="hidden"
          onChange={(e) => take(e.target.files)}
        />
      </div>
      {files.length > 0 && (
        <ul className="space-y-1.5" aria-label="Files to upload">
          {files.map((f) => {
            const u = uploads.find((x) => x.name === f.name);
            const pct = u ? Math.round((100 * u.loaded) / Math.max(1, u.total)) : 0;
            return (
              <li key={f.name} className="text-xs">
                <div className="flex justify-between gap-2">
                  <span className="truncate font-mono text-slate-700">{f.name}</span>
                  <span className={u?.state === "failed" ? "text-red-700" : "tabular-nums text-slate-500"}>
                    {u?.state === "failed" ? u.error ?? "failed" : u ? `${pct}%` : `${(f.size / 1048576).toFixed(1)} MB`}
                  </span>
                </div>
                <div className="mt-0.5 h-1 rounded bg-slate-200">
                  <div className="h-1 rounded bg-sky-600 transition-[width]" style={{ width: `${pct}%` }} />
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </fieldset>
  );
}
