import { useState } from "react";

interface Props {
  ready: boolean;
  getLink: () => Promise<string>;
}

/** Asks for a freshly signed link each time, so a link never expires in the user's hands. */
export function ReportButton({ ready, getLink }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const download = async () => {
    setBusy(true);
    setError(null);
    try {
      const url = await getLink();
      const a = document.createElement("a");
      a.href = url;
      a.download = "isoscan-report.xlsx";
      document.body.appendChild(a);
      a.click();
      a.remove();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="flex items-center gap-3">
      <button
        type="button"
        disabled={!ready || busy}
        onClick={download}
        className="rounded-md bg-emerald-700 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-emerald-800 focus:outline-none focus:ring-2 focus:ring-emerald-600/50 disabled:cursor-not-allowed disabled:bg-slate-300"
      >
        {busy ? "Preparing…" : "Download report (.xlsx)"}
      </button>
      {error && <span className="text-sm text-red-700">{error}</span>}
    </div>
  );
}
