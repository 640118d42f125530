// Drives the relay's web console in Debian's Chromium (playwright-core, no bundled
// browser). Run by tests/tests/relay_console.rs against a real relay; exits non-zero on
// any failure. Environment:
//   CONSOLE_URL     the console, http://127.0.0.1:PORT/
//   ADMIN_TOKEN     a valid admin token
//   DEVICE_NAME     an active device that has synced (it gets revoked)
//   EXPECT_LAG      optional: the lag the device's row must show
//   EXPECT_CHANGES  optional: the changes the activity table must total for today
//   WIPE_DEVICE     optional: another active device, wiped through the page
//   RESCOPE_DEVICE  optional: another active device, rescoped through the page to
//   RESCOPE_TO      its new grid
//   SCREENSHOT      optional: where to save a full-page PNG after the revoke
//   CHROMIUM        optional: the browser (default /usr/bin/chromium)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const need = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`set ${name}`);
  return v;
};
const url = need("CONSOLE_URL");
const adminToken = need("ADMIN_TOKEN");
const deviceName = need("DEVICE_NAME");
const expectLag = process.env.EXPECT_LAG;
const expectChanges = process.env.EXPECT_CHANGES;
const screenshot = process.env.SCREENSHOT;
const wipeDevice = process.env.WIPE_DEVICE;
const rescopeDevice = process.env.RESCOPE_DEVICE;
const rescopeTo = process.env.RESCOPE_TO;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT_MS = 20000;

// The whole run is bounded: a hung browser fails the test instead of stalling it.
const watchdog = setTimeout(() => {
  console.error("console test: timed out after 120 s");
  process.exit(3);
}, 120000);

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

// This machine's network is closed: without these Chromium waits on connections it
// makes of its own accord (updates, sync, QUIC probes).
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function signIn(page, token) {
  await page.locator("#token").fill(token);
  await page.locator("#login-button").click();
}

async function run(page) {
  const t0 = Date.now();
  await page.goto(url, { waitUntil: "load" });
  check(await page.locator("#login").isVisible(), "the page asks for the admin token");
  check((await page.title()).includes("Relay console"), "the page has its title");

  // A wrong token: the relay's refusal shows in the page and the form comes back.
  await signIn(page, "gsa_wrong");
  await page.locator("#error").filter({ hasText: "401" }).waitFor({ timeout: TIMEOUT_MS });
  check(await page.locator("#login").isVisible(), "a wrong token is refused, in the page (401)");

  await signIn(page, adminToken);
  const row = page.locator(`#devices tr[data-device-name="${deviceName}"]`);
  await row.waitFor({ timeout: TIMEOUT_MS });
  check(!(await page.locator("#error").isVisible()), "the error is gone once signed in");
  check(
    (await page.evaluate(() => sessionStorage.getItem("gridsync-admin-token"))) === adminToken &&
      (await page.evaluate(() => localStorage.length)) === 0,
    "the token is in sessionStorage only",
  );
  check((await row.getAttribute("data-state")) === "active", "the device shows active");
  const lag = (await row.locator("td.lag").innerText()).trim();
  check(/^\d+$/.test(lag), `the device shows its lag (${lag})`);
  if (expectLag !== undefined) check(lag === expectLag, `the lag is ${expectLag}`);
  const pending = (await row.locator("td.pending").innerText()).trim();
  check(/^\d+$/.test(pending), `the device shows what waits in its outbox (${pending})`);
  const seen = await row.locator("td.last-seen").innerText();
  check(!seen.includes("Never") && /\d{4}/.test(seen), `last seen is a time (${seen})`);
  const agent = (await row.locator("td.agent").innerText()).trim();
  check(agent !== "" && agent !== "—", `the app shows (${agent})`);
  check(await page.getByText("卡住 STUCK").count() === 0, "no device flagged stuck");

  // Activity: a grid row whose total (and today's cell) counts the synced changes.
  const totals = page.locator("#activity tbody td.total");
  await totals.first().waitFor({ timeout: TIMEOUT_MS });
  const counts = (await totals.evaluateAll((ts) => ts.map((t) => Number(t.dataset.count))));
  const sum = counts.reduce((a, b) => a + b, 0);
  check(sum > 0, `the grid activity counts changes (${counts.join(", ")})`);
  const today = new Date().toISOString().slice(0, 10);
  const todays = await page
    .locator(`#activity tbody td.cell[data-day="${today}"]`)
    .evaluateAll((ts) => ts.reduce((a, t) => a + Number(t.dataset.count), 0));
  check(todays > 0, `today's column counts them (${todays})`);
  if (expectChanges !== undefined) check(todays === Number(expectChanges), `today's count is ${expectChanges}`);

  // Revoke: the page's own dialog asks first; cancelling changes nothing.
  await row.locator("button.revoke").click();
  const dialog = page.locator("#confirm");
  await dialog.waitFor({ state: "visible", timeout: TIMEOUT_MS });
  check((await dialog.innerText()).includes(deviceName), "the dialog names the device");
  await page.locator("#confirm-cancel").click();
  await dialog.waitFor({ state: "hidden", timeout: TIMEOUT_MS });
  check((await row.getAttribute("data-state")) === "active", "cancel leaves the device active");
  await row.locator("button.revoke").click();
  await dialog.waitFor({ state: "visible", timeout: TIMEOUT_MS });
  await page.locator("#confirm-ok").click();
  await page
    .locator(`#devices tr[data-device-name="${deviceName}"][data-state="revoked"]`)
    .waitFor({ timeout: TIMEOUT_MS });
  check((await row.locator("td.state").innerText()).includes("Revoked"), "the row shows revoked");
  check((await row.locator("button.revoke").count()) === 0, "a revoked device has no Revoke button");
  check(!(await page.locator("#error").isVisible()), "no error showing");
  if (wipeDevice) await wipe(page, wipeDevice);
  if (rescopeDevice) await rescope(page, rescopeDevice, rescopeTo);
  if (screenshot) {
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${screenshot}`);
  }
  console.log(`console test took ${Date.now() - t0} ms in the page`);
}

/** Wipes `name` through the page's dialog; its row then shows the wipe requested. */
async function wipe(page, name) {
  const row = page.locator(`#devices tr[data-device-name="${name}"]`);
  await row.locator("button.wipe").click();
  const dialog = page.locator("#confirm");
  await dialog.waitFor({ state: "visible", timeout: TIMEOUT_MS });
  const said = await dialog.innerText();
  check(said.includes(name) && said.includes("Wipe"), "the wipe dialog names the device and the action");
  check(!(await page.locator("#confirm-scopes").isVisible()), "the wipe dialog asks for no grids");
  await page.locator("#confirm-ok").click();
  await page
    .locator(`#devices tr[data-device-name="${name}"][data-state="wipe"]`)
    .waitFor({ timeout: TIMEOUT_MS });
  check((await row.locator("td.state").innerText()).includes("Wipe requested"), "the row shows the wipe requested");
  check((await row.locator("button").count()) === 0, "a device to be wiped has no actions left");
}

/** Rescopes `name` to `grid` through the page's dialog; its row then shows the grid. */
async function rescope(page, name, grid) {
  const row = page.locator(`#devices tr[data-device-name="${name}"]`);
  const before = (await row.locator("td.scopes").innerText()).trim();
  await row.locator("button.rescope").click();
  const input = page.locator("#confirm-scopes");
  await input.waitFor({ state: "visible", timeout: TIMEOUT_MS });
  check((await input.inputValue()) === before, `the dialog starts from the device's grids (${before})`);
  await input.fill("");
  await page.locator("#confirm-ok").click();
  check(await page.locator("#error").isVisible(), "no grid at all is refused in the page");
  await input.fill(grid);
  await page.locator("#confirm-ok").click();
  await page
    .locator(`#devices tr[data-device-name="${name}"] td.scopes`, { hasText: grid })
    .waitFor({ timeout: TIMEOUT_MS });
  check((await row.getAttribute("data-state")) === "active", "a rescoped device stays active");
  check(!(await page.locator("#error").isVisible()), "no error after the rescope");
}

async function main() {
  const profile = mkdtempSync(join(tmpdir(), "gridsync-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ARGS,
    viewport: { width: 1500, height: 900 },
    locale: "zh-CN",
    timeout: 60000,
  });
  const problems = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(TIMEOUT_MS);
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      // The wrong token's 401 is expected; anything else the page complains of is not.
      if (m.type() === "error" && !m.text().includes("401")) problems.push(`console: ${m.text()}`);
    });
    await run(page);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  if (problems.length) throw new Error(problems.join("\n"));
}

main().then(
  () => {
    clearTimeout(watchdog);
    console.log("console test: passed");
  },
  (e) => {
    console.error(`console test: FAILED\n${e.stack || e}`);
    process.exit(1);
  },
);
