// Drives Debian's headless Chromium through playwright-core for tests/browser. One process, one browser, many
// scenarios: each line on stdin is a JSON scenario, each line on stdout the JSON report of one (tests/browser/
// conftest.py writes and reads them, with a timeout). Each scenario runs in a new page of a fresh browser context
// (own cookies and localStorage, like a new visitor), or of the named context it gives (a returning visitor).
//
// Scenario: {"baseUrl", "context"?: "name", "steps": [...]}; each step is one action:
//   {"goto": "/demo/?q=x"}  {"reload": true}  {"click": "#accept"}  {"fill": ["#email", "a@b.c"]}
//   {"press": ["input[name=q]", "Enter"]}  {"sleep": 2500}  {"waitFor": "js expression", "timeout": 10000}
//   {"eval": "js expression", "as": "name"}  {"cookies": "name"}  {"storage": "name"}
//   {"block": "/v1/batch"} (connection refused)  {"unblock": "/v1/batch"}
//   {"fail": {"path": "/v1/batch", "status": 503, "times": 2}}  {"serve": {"path": "/shop/", "html": "..."}}
//   {"serve": {"path": "/lib/x.js", "file": "node_modules/x/dist/x.js"}} (on any origin: a page may be served from
//   http://localhost:<port> and call the API on http://127.0.0.1:<port>, cross-origin like a customer's site)
//   {"grant": ["local-network-access"]} (such a served page counts as public: Chromium asks before it may call
//   127.0.0.1, which a customer's public site calling our public API never needs)
//   {"waitForRequests": {"path": "/v1/batch", "outcome": "ok"|"failed"|"any", "count": 2, "timeout": 10000}}
//   {"offline": true} (every request to another origin than baseUrl's fails, as with no internet; their URLs are
//   saved as "otherOrigins")
//   {"viewport": [390, 844]} (a phone)  {"screenshot": "path.png"} (the full page)  {"upload": ["input[type=file]", "path"]}
//   {"keys": ["Tab", "Tab", "Enter"]} (pressed in turn on whatever has the focus, as a keyboard user does)
//   {"focus": "#more"} (gives an element the focus, as tabbing to it would, without counting the tabs)
//   {"select": ["select#x", "value"]}  {"axe": "name"} (axe-core's scan of the page: its violations saved as name)
//   {"download": ["button#export", "name"]} (clicks and waits for the download it starts: the file's text saved as name)
// Report: {"ok", "error"?, "step"?, "saved": {name: value}, "requests": [{path, query, at (ms), kind, method, body,
//   status?, answer?, failure?}], "console": [{type, text}], "pageErrors": [...]}
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const pathOf = (url) => new URL(url).pathname;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls an expression until it is truthy; survives navigations (a form submit or a search in between).
async function waitFor(page, expression, timeout) {
  const deadline = Date.now() + timeout;
  let last = null;
  for (;;) {
    try {
      if (await page.evaluate(expression)) return;
      last = null;
    } catch (error) {
      last = error; // the page is navigating, or the tracker is not there yet
    }
    if (Date.now() > deadline) throw new Error(`waited ${timeout} ms for ${expression}` + (last ? `: ${last}` : ""));
    await sleep(50);
  }
}

// Every API call the pages of `context` make (not the tracker script itself), with what became of it.
function recordRequests(context, report) {
  const records = new Map();
  const onRequest = (request) => {
    const path = pathOf(request.url());
    if (!path.startsWith("/v1/") || path === "/v1/tracker.js") return;
    let body = request.postData();
    try {
      body = body ? JSON.parse(body) : null;
    } catch (error) {
      /* keep the raw text */
    }
    const query = new URL(request.url()).search;
    const record = { path, query, at: Date.now(), kind: request.resourceType(), method: request.method(), body };
    records.set(request, record);
    report.requests.push(record);
  };
  const onFinished = async (request) => {
    const record = records.get(request);
    const response = record && (await request.response());
    if (!record) return;
    record.status = response ? response.status() : 0;
    try {
      record.answer = response ? await response.json() : null;
    } catch (error) {
      record.answer = null; // not JSON, or the body is gone with the page
    }
  };
  const onFailed = (request) => {
    const record = records.get(request);
    if (record) record.failure = request.failure() ? request.failure().errorText : "failed";
  };
  context.on("request", onRequest);
  context.on("requestfinished", onFinished);
  context.on("requestfailed", onFailed);
  return () => {
    context.off("request", onRequest);
    context.off("requestfinished", onFinished);
    context.off("requestfailed", onFailed);
  };
}

// axe-core (from node_modules) run on the page as it is: each violation with its impact and the elements it names.
async function scanAccessibility(page) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.addScriptTag({ path: "node_modules/axe-core/axe.min.js" });
  return page.evaluate(async () => {
    const results = await window.axe.run(document, { resultTypes: ["violations"] });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
    }));
  });
}

async function run(browser, contexts, scenario) {
  const report = { ok: false, saved: {}, requests: [], console: [], pageErrors: [] };
  const named = scenario.context;
  let context = named ? contexts.get(named) : null;
  if (!context) {
    context = await browser.newContext();
    if (named) contexts.set(named, context);
  }
  context.setDefaultTimeout(10000);
  const stopRecording = recordRequests(context, report);
  const routes = []; // [matcher, handler] installed by this scenario, removed at its end
  const route = async (matcher, handler, options) => {
    await context.route(matcher, handler, options);
    routes.push([matcher, handler]);
  };
  const unroute = async (path) => {
    for (const [matcher, handler] of routes.filter(([m]) => m.path === path)) await context.unroute(matcher, handler);
  };
  const matching = (outcome, path) =>
    report.requests.filter(
      (r) =>
        r.path === path &&
        (outcome === "any" ||
          (outcome === "ok" && r.status >= 200 && r.status < 300) ||
          (outcome === "failed" && (r.failure || r.status >= 400)))
    ).length;
  const on = (path) => Object.assign((url) => url.pathname === path, { path });

  let page = null;
  let step = -1;
  try {
    page = await context.newPage();
    page.on("console", (message) => report.console.push({ type: message.type(), text: message.text() }));
    page.on("pageerror", (error) => report.pageErrors.push(String(error)));
    for (const [index, action] of scenario.steps.entries()) {
      step = index;
      if (action.goto !== undefined) await page.goto(new URL(action.goto, scenario.baseUrl).href);
      else if (action.reload) await page.reload();
      else if (action.grant) await context.grantPermissions(action.grant);
      else if (action.offline) {
        const origin = new URL(scenario.baseUrl).origin;
        const elsewhere = report.saved.otherOrigins = [];
        await route(Object.assign((url) => url.origin !== origin, { path: null }), (r) => {
          elsewhere.push(r.request().url());
          return r.abort("internetdisconnected");
        });
      }
      else if (action.click) await page.click(action.click);
      else if (action.fill) await page.fill(action.fill[0], action.fill[1]);
      else if (action.press) await page.press(action.press[0], action.press[1]);
      else if (action.sleep) await sleep(action.sleep);
      else if (action.focus) await page.focus(action.focus);
      else if (action.keys) for (const key of action.keys) await page.keyboard.press(key);
      else if (action.viewport) await page.setViewportSize({ width: action.viewport[0], height: action.viewport[1] });
      else if (action.screenshot) await page.screenshot({ path: action.screenshot, fullPage: true });
      else if (action.upload) await page.setInputFiles(action.upload[0], action.upload[1]);
      else if (action.select) await page.selectOption(action.select[0], action.select[1]);
      else if (action.axe) report.saved[action.axe] = await scanAccessibility(page);
      else if (action.download) {
        const [selector, name] = action.download;
        const [download] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
        report.saved[name] = await readFile(await download.path(), "utf8");
      }
      else if (action.waitFor) await waitFor(page, action.waitFor, action.timeout || 10000);
      else if (action.eval) report.saved[action.as] = await page.evaluate(action.eval);
      else if (action.cookies) report.saved[action.cookies] = await context.cookies();
      else if (action.storage)
        report.saved[action.storage] = await page.evaluate(() => Object.assign({}, window.localStorage));
      else if (action.block) {
        await unroute(action.block);
        await route(on(action.block), (r) => r.abort("connectionrefused"));
      } else if (action.unblock) await unroute(action.unblock);
      else if (action.fail) {
        const { path, status, times } = action.fail;
        const problem = { title: "Injected by the test", status, errors: [{ field: "batch", message: "test" }] };
        await unroute(path);
        const answer = (r) => r.fulfill({ status, contentType: "application/problem+json", body: JSON.stringify(problem) });
        await route(on(path), answer, { times });
      } else if (action.serve) {
        const { path, html, file } = action.serve;
        // a file (e.g. a library from node_modules, relative to the repository) is served with the type of its name
        const answer = file ? { status: 200, path: file } : { status: 200, contentType: "text/html; charset=utf-8", body: html };
        await route(on(path), (r) => r.fulfill(answer));
      } else if (action.waitForRequests) {
        const { path, outcome = "ok", count = 1, timeout = 10000 } = action.waitForRequests;
        const deadline = Date.now() + timeout;
        while (matching(outcome, path) < count) {
          if (Date.now() > deadline) throw new Error(`waited ${timeout} ms for ${count} ${outcome} request(s) to ${path}`);
          await sleep(50);
        }
      } else throw new Error(`unknown step ${JSON.stringify(action)}`);
    }
    await sleep(100); // let the last responses land in the report
    report.ok = true;
  } catch (error) {
    report.error = String((error && error.stack) || error);
    report.step = step;
  } finally {
    if (page) await page.close().catch(() => {});
    for (const [matcher, handler] of routes) await context.unroute(matcher, handler).catch(() => {});
    stopRecording();
    if (!named) await context.close().catch(() => {});
  }
  return report;
}

const browser = await chromium.launch({
  executablePath: process.env.CXM_CHROMIUM || "/usr/bin/chromium",
  headless: true, // with a fresh temporary --user-data-dir, which Playwright makes and removes
  args: CHROMIUM_ARGS,
  timeout: 30000,
});
const contexts = new Map();
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  let report;
  try {
    report = await run(browser, contexts, JSON.parse(line));
  } catch (error) {
    report = { ok: false, error: String((error && error.stack) || error), saved: {}, requests: [], console: [] };
  }
  process.stdout.write(JSON.stringify(report) + "\n");
}
await browser.close();
