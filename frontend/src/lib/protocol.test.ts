import { describe, expect, it } from "vitest";
import { sendsInline } from "./protocol";

/** API Gateway's largest WebSocket message ("128 KB", read as the smaller 128,000 bytes). */
const API_GATEWAY_MESSAGE = 128_000;

describe("code lists", () => {
  it("are sent inline only while the start_scan carrying them fits one API Gateway message", () => {
    // The largest inline list, base64-encoded in a start_scan with a long location.
    let largest = 0;
    for (let size = 64 * 1024; size <= 128 * 1024; size += 1024) if (sendsInline(size)) largest = size;
    const message = JSON.stringify({
      action: "start_scan",
      req_id: "r".repeat(64),
      drive_link: `s3://${"b".repeat(63)}/${"p/".repeat(1000)}`,
      file_content: "A".repeat(4 * Math.ceil(largest / 3)),
    });
    expect(message.length).toBeLessThanOrEqual(API_GATEWAY_MESSAGE);
    // A 96 KiB workbook (128 KiB of base64) is uploaded.
    expect(sendsInline(96 * 1024)).toBe(false);
    expect(sendsInline(10 * 1024)).toBe(true);
  });
});
