// The dashboard at /ui in headless Chromium against a real llm-router on the shipped config:
// traffic through /v1/chat/completions, then the page must show it (KPIs, backends, breakers,
// routing mix, routes, last decisions). Saves a screenshot.
// usage: node dashboard.test.mjs LLM_ROUTER_BIN CONFIG SCREENSHOT_PNG
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const [routerBin, configPath, screenshotArg] = process.argv.slice(2);
if (!routerBin || !configPath || !screenshotArg) {
  console.error('usage: node dashboard.test.mjs LLM_ROUTER_BIN CONFIG SCREENSHOT_PNG');
  process.exit(2);
}
const screenshotPath = resolve(screenshotArg);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const WAIT_FOR_NUMBERS_MS = 15000;
const WATCHDOG_MS = 150000; // below the ctest TIMEOUT, so cleanup still runs

let router = null;
let context = null;
const userDataDir = mkdtempSync(join(tmpdir(), 'llm-router-e2e-chromium-'));

function killRouter() {
  for (const child of [router, ...extraRouters]) {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
function removeUserDataDir() {
  try { rmSync(userDataDir, { recursive: true, force: true }); } catch { /* best effort */ }
}
process.on('exit', () => { killRouter(); removeUserDataDir(); });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { console.log(`killed by ${signal}`); process.exit(1); });
}
const watchdog = setTimeout(() => {
  console.log(`not ok - watchdog: the test did not finish within ${WATCHDOG_MS / 1000} s`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

const extraRouters = [];
function startRouter(env = process.env) {
  const child = spawn(routerBin, ['serve', '--config', configPath, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'], env,
  });
  if (router) extraRouters.push(child); else router = child;
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error('router did not start within 10 s')), 10000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = line.match(/llm-router listening on (.*):(\d+)$/);
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[2]));
      }
    });
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`router exited with ${code ?? signal}`)); });
  });
}

async function chat(base, content, extra = {}) {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content }], ...extra }),
    signal: AbortSignal.timeout(10000),
  });
  const body = await response.text();
  assert.equal(response.status, 200, `chat "${content}": HTTP ${response.status} ${body.slice(0, 200)}`);
  return { backend: response.headers.get('x-llm-router-backend'), rule: response.headers.get('x-llm-router-rule') };
}

const results = [];
async function run(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
    results.push(true);
  } catch (error) {
    console.log(`not ok - ${name}: ${error.stack ?? error}`);
    results.push(false);
  }
}

// Chit-chat stays on mock-small; Python coding questions go to mock-large (rule hard-prompt,
// category code). The per-prompt backend is the classifier's call, so only "both got some" is
// asserted; the page is then held against what the router actually did.
const prompts = [
  { content: 'Hello! How are you today?' },
  { content: 'What is the capital of France?' },
  { content: 'Give me a short tip for a relaxing weekend.', stream: true },
  { content: 'Write a Python function that parses a CSV file and returns the rows as a list of dicts.' },
  { content: 'Write a Python function that checks whether a string is a palindrome.', stream: true },
];

async function main() {
  let port;
  await run('router starts', async () => { port = await startRouter(); });
  if (!port) return;
  const base = `http://127.0.0.1:${port}`;

  const routed = { 'mock-small': 0, 'mock-large': 0 };
  await run('traffic reaches both backends', async () => {
    for (const p of prompts) {
      const extra = p.stream ? { stream: true, stream_options: { include_usage: true } } : {};
      const { backend, rule } = await chat(base, p.content, extra);
      assert.ok(backend in routed, `"${p.content}" went to ${backend}`);
      routed[backend] += 1;
      if (backend === 'mock-large') assert.equal(rule, 'hard-prompt');
    }
    assert.ok(routed['mock-small'] > 0 && routed['mock-large'] > 0, `routed: ${JSON.stringify(routed)}`);
  });
  const sent = prompts.length;

  // The router's own numbers, to hold the page against.
  let stats = null;
  await run('/admin/stats counts the traffic', async () => {
    // A request is counted when its handling ends, which may be a moment after its client read
    // the last byte of a stream: poll (bounded) until every request is in.
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const response = await fetch(`${base}/admin/stats?window=5m`, { signal: AbortSignal.timeout(5000) });
      assert.equal(response.status, 200);
      stats = await response.json();
      if (stats.total.requests >= sent) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(stats.total.requests, sent);
  });

  const outside = [];    // requests Chromium tried to make anywhere but the router
  const pageErrors = []; // uncaught exceptions and console errors in the page
  let page = null;
  await run('dashboard loads in headless Chromium', async () => {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
      timeout: 30000,
    });
    context.setDefaultTimeout(10000);
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1' && url.port === String(port)) return route.continue();
      outside.push(url.href);
      return route.abort();
    });
    page = context.pages()[0] ?? await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (msg) => { if (msg.type() === 'error') pageErrors.push(`console: ${msg.text()}`); });
    page.on('response', (r) => { if (r.status() >= 400) pageErrors.push(`HTTP ${r.status()} ${r.url()}`); });
    page.on('requestfailed', (r) => pageErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    const response = await page.goto(`${base}/ui`, { waitUntil: 'load', timeout: 10000 });
    assert.equal(response.status(), 200);
    assert.equal(await page.title(), 'llm-router');
  });
  if (!page) return;

  await run(`numbers appear within ${WAIT_FOR_NUMBERS_MS / 1000} s`, async () => {
    await page.waitForFunction(() => {
      const backends = document.getElementById('backends').textContent;
      const requests = document.querySelector('#kpis .kpi b')?.textContent ?? '0';
      return backends.includes('mock-small') && backends.includes('mock-large') &&
             Number(requests.replace(/[^0-9]/g, '')) > 0 &&
             document.getElementById('status').textContent.startsWith('updated');
    }, null, { timeout: WAIT_FOR_NUMBERS_MS, polling: 250 });
  });

  // Everything the page shows, read once.
  const view = await page.evaluate(() => {
    const text = (node) => node.textContent.trim();
    const kpis = {};
    for (const k of document.querySelectorAll('#kpis .kpi')) kpis[text(k.querySelector('span'))] = text(k.querySelector('b'));
    const backends = {};
    for (const b of document.querySelectorAll('#backends .backend')) {
      backends[text(b.querySelector('.name'))] = {
        breaker: b.querySelector('.pill') ? text(b.querySelector('.pill')) : null,
        lines: [...b.querySelectorAll(':scope > div.dim')].map(text),
        bars: [...b.querySelectorAll('svg rect')].filter((r) => Number(r.getAttribute('height')) > 0).length,
      };
    }
    const rows = (id) => [...document.querySelectorAll(`#${id} tr`)].slice(1)
      .map((tr) => [...tr.children].map(text));
    return { status: text(document.getElementById('status')), kpis, backends,
             categories: rows('categories'), routes: rows('routes'), recent: rows('recent') };
  }).catch((error) => { console.log(`# could not read the page: ${error.message}`); return null; });

  const count = (s) => Number(String(s).replace(/[^0-9]/g, ''));
  const ms = /^\d+(\.\d)? ms$|^\d+\.\d s$/;
  await run('KPIs: traffic, error rate, latency, cost', async () => {
    assert.ok(view, 'page not readable');
    const k = view.kpis;
    assert.equal(count(k.requests), sent, `requests KPI ${k.requests}`);
    assert.match(k['req/s'], /^\d+\.\d\d$/);
    assert.ok(Number(k['req/s']) > 0, `req/s ${k['req/s']}`);
    assert.equal(k['error rate'], '0.0%');
    for (const key of ['latency p50', 'latency p95', 'latency p99', 'TTFT p95']) assert.match(k[key], ms, `${key}: ${k[key]}`);
    assert.equal(k.fallbacks, '0');
    const [tokensIn, tokensOut] = k['tokens in/out'].split('/').map(count);
    assert.equal(tokensIn, stats?.total.input_tokens, `tokens in ${k['tokens in/out']}`);
    assert.ok(tokensOut > 0, `tokens out ${k['tokens in/out']}`);
    assert.match(k.cost, /^\$\d/);
    assert.ok(Number(k.cost.slice(1)) > 0, `cost ${k.cost}`);
  });

  await run('backends: names, request counts, breakers, latency, cost, sparkline', async () => {
    assert.ok(view, 'page not readable');
    for (const name of ['mock-small', 'mock-large']) {
      const b = view.backends[name];
      assert.ok(b, `backend ${name} missing, got ${Object.keys(view.backends)}`);
      assert.equal(b.breaker, 'closed', `${name} breaker`);
      const [traffic, ttft] = b.lines;
      assert.equal(count(traffic.match(/^([\d,]+) req/)?.[1] ?? 0), routed[name], `${name}: ${traffic}`);
      assert.match(traffic, /0\.0% err/);
      assert.match(traffic, /p50 \d[^·]* ms · p95 \d[^·]* ms · p99 \d/);
      assert.match(ttft, /TTFT p50 \d/);
      const cost = ttft.match(/\$([\d.e-]+)$/)?.[1];
      assert.ok(Number(cost) > 0, `${name} cost shown as $${cost}: ${ttft}`);
      assert.ok(b.bars > 0, `${name}: no bar in the sparkline`);
    }
  });

  await run('routing mix by category', async () => {
    assert.ok(view, 'page not readable');
    const shown = Object.fromEntries(view.categories.map(([name, , n]) => [name, count(n)]));
    assert.deepEqual(shown, stats?.categories);
    assert.ok(shown.code >= 1, `code requests: ${JSON.stringify(shown)}`);
  });

  await run('routes table', async () => {
    assert.ok(view, 'page not readable');
    const auto = view.routes.find(([name]) => name === 'auto');
    assert.ok(auto, `no auto route row: ${JSON.stringify(view.routes)}`);
    assert.equal(count(auto[1]), sent);
    assert.equal(auto[2], '0.0%');
  });

  await run('last decisions', async () => {
    assert.ok(view, 'page not readable');
    assert.equal(view.recent.length, sent, `rows: ${JSON.stringify(view.recent)}`);
    // columns: time id route rule category backend attempts status latency
    for (const r of view.recent) {
      assert.match(r[1], /^req-/);
      assert.equal(r[2], 'auto');
      assert.equal(r[7], '200');
      assert.match(r[8], ms);
    }
    const large = view.recent.filter((r) => r[5] === 'mock-large');
    const small = view.recent.filter((r) => r[5] === 'mock-small');
    assert.equal(large.length, routed['mock-large']);
    assert.equal(small.length, routed['mock-small']);
    assert.ok(large.every((r) => r[3] === 'hard-prompt'), JSON.stringify(large));
  });

  await run('window selector re-polls', async () => {
    const polled = page.waitForResponse((r) => r.url().includes('/admin/stats?window=1m') && r.status() === 200,
                                        { timeout: 5000 });
    await page.selectOption('#window', '1m'); // fires change, which polls at once
    await polled;
  });

  await run('no page errors and no requests outside the router', async () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(outside, []);
  });

  if (results.includes(false)) console.log(`# page as read: ${JSON.stringify(view)}`);

  await run('screenshot saved', async () => {
    await page.selectOption('#window', '5m');
    await page.waitForTimeout(500);
    mkdirSync(dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true, timeout: 10000 });
    assert.ok(statSync(screenshotPath).size > 1000);
    console.log(`# screenshot: ${screenshotPath}`);
  });

  // With server.admin_key set (the shipped config reads LLM_ROUTER_ADMIN_KEY), the page asks
  // for the key once, then sends it with every poll.
  await run('dashboard asks for the admin key and then shows the stats', async () => {
    const key = 'e2e-admin-key';
    const keyedPort = await startRouter({ ...process.env, LLM_ROUTER_ADMIN_KEY: key });
    const keyedBase = `http://127.0.0.1:${keyedPort}`;
    const refused = await fetch(`${keyedBase}/admin/stats`, { signal: AbortSignal.timeout(5000) });
    assert.equal(refused.status, 401);
    await context.route(`${keyedBase}/**`, (route) => route.continue());
    const keyed = await context.newPage();
    const prompts = [];
    keyed.on('dialog', (dialog) => { prompts.push(dialog.message()); dialog.accept(key); });
    const authorized = keyed.waitForResponse(
      (r) => r.url().startsWith(`${keyedBase}/admin/stats`) && r.status() === 200, { timeout: 10000 });
    await keyed.goto(`${keyedBase}/ui`, { waitUntil: 'load', timeout: 10000 });
    await authorized;
    await keyed.waitForFunction(() => document.getElementById('status').textContent.startsWith('updated'),
                                null, { timeout: 10000, polling: 250 });
    assert.equal(prompts.length, 1, `prompts: ${JSON.stringify(prompts)}`);
    await keyed.close();
  });
}

try {
  await main();
} catch (error) {
  console.log(`not ok - unexpected: ${error.stack ?? error}`);
  results.push(false);
} finally {
  if (context) {
    await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 10000))]);
  }
  if (router && router.exitCode === null) {
    const exited = new Promise((r) => router.once('exit', r));
    router.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    killRouter();
  }
  removeUserDataDir();
}

const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
