// The dashboard end to end in Debian's Chromium (headless, fresh profile): the real server on a
// generated corpus; upload a code list, start, rows arrive, reload mid-scan and see the state
// restored, download the report and read it back. Screenshots go to test-results/.
//
// Needs the debug (or ISOSCAN_PROFILE) binaries `isoscan` and `isoscan-gen`, and a built dashboard.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import ExcelJS from "exceljs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const profile = process.env.ISOSCAN_PROFILE ?? "debug";
const bin = (n) => join(process.env.CARGO_TARGET_DIR ?? join(repo, "target"), profile, n);
const out = join(here, "../test-results");
mkdirSync(out, { recursive: true });
const work = mkdtempSync(join(tmpdir(), "isoscan-e2e-"));
const FILES = Number(process.env.E2E_FILES ?? 2500);
const TOKEN = "e2e-token-0123456789abcdef";

const step = (s) => console.log(`e2e: ${s}`);

step(`generating ${FILES} drawings`);
execFileSync(bin("isoscan-gen"), ["corpus", work, "--files", String(FILES), "--small", "--codes", "300"], { stdio: "inherit" });
const folder = join(work, "drawings");

function startServer() {
  const p = spawn(
    bin("isoscan"),
    ["serve", "--port", "0", "--data", join(work, "data"), "--root", work, "--token", TOKEN, "--dashboard", join(here, "../dist"), "--jobs", "1"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolveStart, reject) => {
    const lines = createInterface({ input: p.stdout });
    lines.on("line", (l) => {
      const m = l.match(/listening on (http:\/\/\S+)/);
      if (m) resolveStart({ proc: p, base: m[1] });
    });
    p.on("exit", (code) => reject(new Error(`server exited (${code})`)));
  });
}

const { proc, base } = await startServer();
let browser;
try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e));

  step("open the dashboard");
  await page.goto(`${base}/?token=${TOKEN}`);
  await page.getByTestId("connection").filter({ hasText: "Connected" }).waitFor();
  assert.ok(!page.url().includes("token="), "the token leaves the address bar");

  step("pick the code list");
  await page.getByTestId("targets-input").setInputFiles(join(work, "codes.xlsx"));
  const summary = page.getByTestId("targets-summary");
  await summary.waitFor();
  assert.match(await summary.innerText(), /300\s+codes from sheet/);

  step("start");
  await page.getByLabel("Folder path, Google Drive link or s3:// URL").fill(folder);
  await page.getByRole("button", { name: "Start scan" }).click();
  await page.getByTestId("result-row").first().waitFor({ timeout: 60_000 });
  assert.match(page.url(), /[?&]session=/);
  // A moment later, so that the rate and ETA have something to say.
  await page.waitForTimeout(1500);
  const status = await page.getByTestId("scan-status").innerText();
  await page.screenshot({ path: join(out, "dashboard-running.png"), fullPage: true });
  step(`rows arriving (${status})`);

  step("reload mid-scan");
  const before = Number((await page.getByTestId("row-count").innerText()).replace(/,/g, ""));
  const wasRunning = status !== "Complete";
  await page.reload();
  await page.getByTestId("connection").filter({ hasText: "Connected" }).waitFor();
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="row-count"]')?.textContent?.replace(/,/g, "") ?? 0) >= n,
    before,
    { timeout: 30_000 },
  );
  step(`state restored: at least ${before} rows after the reload (scan was ${wasRunning ? "running" : "done"})`);

  await page.getByTestId("scan-status").filter({ hasText: "Complete" }).waitFor({ timeout: 300_000 });
  const rows = Number((await page.getByTestId("row-count").innerText()).replace(/,/g, ""));
  const matches = Number((await page.getByTestId("matches").innerText()).replace(/,/g, ""));
  const processed = await page.getByTestId("processed").innerText();
  assert.equal(rows, matches, "every file with a match has its row");
  assert.equal(processed.replace(/,/g, ""), `${FILES} / ${FILES}`);
  const notFound = Number((await page.getByTestId("codes-not-found").innerText()).replace(/,/g, ""));
  const found = Number((await page.getByTestId("codes-found").innerText()).replace(/,/g, ""));
  assert.equal(found + notFound, 300);

  step("filter and sort");
  const firstCode = (await page.getByTestId("result-row").first().locator('[role="cell"]').nth(1).innerText()).split(",")[0].trim();
  await page.getByLabel("Filter by code or file name").fill(firstCode);
  const filtered = await page.getByTestId("row-count").innerText();
  assert.match(filtered, / of /);
  await page.getByLabel("Filter by code or file name").fill("");
  await page.screenshot({ path: join(out, "dashboard-complete.png"), fullPage: true });

  step("download the report");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: /Download report/ }).click()]);
  const file = join(work, "report.xlsx");
  await download.saveAs(file);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(readFileSync(file));
  const results = wb.getWorksheet("Processing Results");
  assert.ok(results, "Processing Results sheet");
  assert.equal(results.actualRowCount - 1, rows, "one report row per drawing with a match");
  const codes = wb.getWorksheet("Codes");
  assert.equal(codes.actualRowCount - 1, 300);
  const header = results.getRow(1).values.slice(1, 5);
  assert.deepEqual(header, ["File Name", "Hole Codes Found", "Status", "PDF Link"]);

  step("drop drawings and scan the upload");
  const dropped = ["area-00/iso_00000.pdf", "area-00/iso_00001.pdf", "area-00/iso_00002.pdf"].map((p) => join(folder, p));
  await page.getByTestId("drawings-input").setInputFiles(dropped);
  await page.getByRole("list", { name: "Files to upload" }).waitFor();
  await page.getByRole("button", { name: "Start scan" }).click();
  await page.getByTestId("processed").filter({ hasText: "3 / 3" }).waitFor({ timeout: 60_000 });
  await page.getByTestId("scan-status").filter({ hasText: "Complete" }).waitFor({ timeout: 60_000 });
  const uploaded = await page.getByRole("list", { name: "Files to upload" }).innerText();
  assert.equal((uploaded.match(/100%/g) ?? []).length, 3, `every file shows its upload done: ${uploaded}`);
  assert.ok(Number((await page.getByTestId("row-count").innerText()).replace(/,/g, "")) <= 3);

  step(`passed: ${rows} drawings with a match, ${found} codes found, ${notFound} in no drawing; screenshots in ${out}`);
} finally {
  await browser?.close();
  proc.kill("SIGTERM");
}
