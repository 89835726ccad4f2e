import { beforeAll, describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { ResultsTable, filterAndSort } from "./ResultsTable";
import type { MatchData } from "../../lib/protocol";

const rows: MatchData[] = Array.from({ length: 10_000 }, (_, i) => {
  const codes = i % 3 === 0 ? [`HC-${i}`, "SHARED-1"] : [`HC-${i}`];
  return {
    hole_code: codes.join(", "),
    file_name: `iso_${String(i).padStart(5, "0")}.pdf`,
    status: codes.length === 1 ? "1 Code" : "2 Codes",
    pdf_link: `http://srv/drawings?path=${i}#page=1`,
    path: `area-${Math.floor(i / 500)}/iso_${String(i).padStart(5, "0")}.pdf`,
    codes,
    pages: Object.fromEntries(codes.map((c) => [c, [1, 2]])),
    ocr: false,
  };
});

beforeAll(() => {
  // jsdom lays nothing out: give the scroll box the size it has in a browser.
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 480 });
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 1000 });
});

describe("ResultsTable", () => {
  it("renders a window of 10,000 rows, not all of them", () => {
    render(<ResultsTable rows={rows} />);
    expect(screen.getByTestId("row-count").textContent).toBe("10,000");
    const shown = screen.getAllByTestId("result-row").length;
    expect(shown).toBeGreaterThan(5);
    expect(shown).toBeLessThan(100);
  });

  it("filters by code or file name and sorts", () => {
    render(<ResultsTable rows={rows} />);
    fireEvent.change(screen.getByLabelText("Filter by code or file name"), { target: { value: "shared-1" } });
    expect(screen.getByTestId("row-count").textContent).toBe("3,334 of 10,000");
    fireEvent.change(screen.getByLabelText("Filter by code or file name"), { target: { value: "iso_09999" } });
    expect(screen.getAllByTestId("result-row")).toHaveLength(1);
    expect(screen.getByRole("link", { name: /Open/ }).getAttribute("href")).toBe("http://srv/drawings?path=9999#page=1");
    expect(filterAndSort(rows, "", "file", true)[0].file_name).toBe("iso_09999.pdf");
    expect(filterAndSort(rows, "", "codes", true)[0].codes).toHaveLength(2);
  });

  it("sorts when a header is pressed, and says which way", () => {
    render(<ResultsTable rows={rows.slice(0, 20)} />);
    const file = screen.getByRole("button", { name: /File/ });
    fireEvent.click(file);
    fireEvent.click(file);
    expect(screen.getAllByRole("columnheader")[0].getAttribute("aria-sort")).toBe("descending");
    expect(screen.getAllByTestId("result-row")[0].textContent).toContain("iso_00019.pdf");
  });
});
