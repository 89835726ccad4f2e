import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { TargetsPicker } from "./TargetsPicker";

describe("TargetsPicker", () => {
  it("shows what the list holds, and hands the chosen file over", () => {
    const onFile = vi.fn();
    const onWhere = vi.fn();
    render(
      <TargetsPicker
        fileName="codes.xlsx"
        targets={{ count: 1234, duplicates: 5, sample: ["HC-1", "HC-2"], sheet: "Register", column: "B" }}
        busy={false}
        error={null}
        disabled={false}
        onFile={onFile}
        sheet=""
        column=""
        onWhere={onWhere}
      />,
    );
    const text = screen.getByTestId("targets-summary").textContent ?? "";
    expect(text).toContain("1,234 codes from sheet Register, column B");
    expect(text).toContain("5 duplicates dropped");
    expect(text).toContain("HC-1, HC-2, …");
    const file = new File(["HC-1\n"], "list.csv", { type: "text/csv" });
    fireEvent.change(screen.getByTestId("targets-input"), { target: { files: [file] } });
    expect(onFile).toHaveBeenCalledWith(file);
    const column = screen.getByPlaceholderText("letter or header");
    fireEvent.change(column, { target: { value: "Hole code" } });
    fireEvent.blur(column);
    expect(onWhere).toHaveBeenCalledWith("", "Hole code");
  });

  it("shows why a list was refused", () => {
    render(<TargetsPicker fileName="x.xlsx" targets={null} busy={false} error="code list: no codes" disabled={false} onFile={() => {}} sheet="" column="" onWhere={() => {}} />);
    expect(screen.getByText("code list: no codes")).toBeTruthy();
  });
});
