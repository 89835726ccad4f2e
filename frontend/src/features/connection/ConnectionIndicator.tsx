import type { Connection } from "../../lib/useScanSocket";

const LOOK: Record<Connection, { label: string; dot: string; text: string }> = {
  connecting: { label: "Connecting…", dot: "bg-amber-400 animate-pulse", text: "text-amber-800" },
  open: { label: "Connected", dot: "bg-emerald-500", text: "text-emerald-800" },
  reconnecting: { label: "Reconnecting…", dot: "bg-amber-500 animate-pulse", text: "text-amber-800" },
  closed: { label: "Disconnected", dot: "bg-red-500", text: "text-red-800" },
};

export function ConnectionIndicator({ connection }: { connection: Connection }) {
  const l = LOOK[connection];
  return (
    <div role="status" aria-live="polite" className={`flex items-center gap-2 rounded-full bg-white/90 px-3 py-1 text-sm font-medium ${l.text}`}>
      <span aria-hidden className={`inline-block h-2.5 w-2.5 rounded-full ${l.dot}`} />
      <span data-testid="connection">{l.label}</span>
    </div>
  );
}
