import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { ProgressPanel } from "./ProgressPanel";
import { initialScanState } from "../../lib/scanState";

describe("ProgressPanel", () => {
  it("shows processed of total, rate, ETA, matches and errors", () => {
    const state = { ...initialScanState, sessionId: "s", status: "RUNNING" as const, processed: 1200, total: 4800, matches: 37, errors: 2, startedAt: 0 };
    render(<ProgressPanel state={state} now={10_000} />);
    expect(screen.getByTestId("processed").textContent).toBe("1,200 / 4,800");
    expect(screen.getByTestId("matches").textContent).toBe("37");
    expect(screen.getByTestId("errors").textContent).toBe("2");
    expect(screen.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("25");
    expect(screen.getByTestId("scan-status").textContent).toBe("Scanning");
  });
});
