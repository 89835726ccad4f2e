import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { ConnectionIndicator } from "./ConnectionIndicator";

describe("ConnectionIndicator", () => {
  it("names every state", () => {
    const { rerender } = render(<ConnectionIndicator connection="connecting" />);
    expect(screen.getByTestId("connection").textContent).toBe("Connecting…");
    rerender(<ConnectionIndicator connection="open" />);
    expect(screen.getByTestId("connection").textContent).toBe("Connected");
    rerender(<ConnectionIndicator connection="reconnecting" />);
    expect(screen.getByTestId("connection").textContent).toBe("Reconnecting…");
    rerender(<ConnectionIndicator connection="closed" />);
    expect(screen.getByTestId("connection").textContent).toBe("Disconnected");
  });
});
