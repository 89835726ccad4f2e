import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { CodesPanel } from "./CodesPanel";

describe("CodesPanel", () => {
  it("counts every code of a list cut short, and says the report has them all", () => {
    const shown = Array.from({ length: 1_000 }, (_, i) => `HC-${i}`);
    render(<CodesPanel rows={[]} status="COMPLETE" codesFound={["A-1"]} codesNotFound={shown} codesFoundCount={1} codesNotFoundCount={49_999} />);
    expect(screen.getByTestId("codes-not-found").textContent).toBe((49_999).toLocaleString());
    expect(screen.getByTestId("not-found-list").querySelectorAll("li")).toHaveLength(1_000);
    expect(screen.getByTestId("not-found-more").textContent).toContain("the report lists every code");
  });

  it("says nothing more when the list is whole", () => {
    render(<CodesPanel rows={[]} status="COMPLETE" codesFound={[]} codesNotFound={["B-2"]} codesFoundCount={0} codesNotFoundCount={1} />);
    expect(screen.queryByTestId("not-found-more")).toBeNull();
  });
});
