// End-to-end test of the gallery as a person sees it: a real shoebox server
// (bin/shoebox, embedded PostgreSQL) indexes a small temporary library, and
// Debian's chromium, driven by playwright-core, browses it.
//
// Run from the repository root after `make build`:
//
//   node e2e/gallery.test.mjs        (or: make e2e)
//
// It builds nothing. Screenshots land in e2e/screenshots/. The server, its
// embedded PostgreSQL and the browser are stopped even when a test fails.
// SHOEBOX_E2E_KEEP=1 keeps the temporary library and data folder.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const bin = path.join(repo, 'bin', 'shoebox');
const corpus = path.join(repo, 'testdata', 'corpus');
const shots = path.join(here, 'screenshots');

const PAGE_SIZE = 50; // internal/web/gallery.go pageSize
const LIBRARY_SIZE = 70; // > PAGE_SIZE, so the first page is full and a pager shows
const MAX_FILE_BYTES = 8 << 20; // keeps indexing quick on a 2-core machine
const INDEX_TIMEOUT_MS = 3 * 60_000;

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// State shared by the hooks and tests.
let tmp; // temporary root holding library/ and data/
let library;
let dataDir;
let pgData; // the embedded cluster's PGDATA (from the server's log when it says)
let server; // child process
let serverExit; // promise of {code, signal}
let serverLog = '';
let baseURL;
let browser;
let context;
let copied = []; // relative paths in the temporary library
let searchWord;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// later resolves after ms without keeping node alive: for the losing side of
// a Promise.race, so a finished run exits at once.
const later = (ms) => new Promise((r) => setTimeout(r, ms).unref());

// ---------------------------------------------------------------- library

// pickPhotos lists decodable sample photos: the desktop wallpapers (JPEG,
// PNG) and the Go packages' JPEG test images, minus the deliberately broken
// ones, sorted, the first LIBRARY_SIZE.
function pickPhotos() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(path.relative(corpus, p));
    }
  };
  for (const top of ['deb', 'go']) {
    const d = path.join(corpus, top);
    if (fs.existsSync(d)) walk(d);
  }
  const wanted = out.filter((rel) => {
    const lower = rel.toLowerCase();
    const wallpaper = rel.startsWith('deb/') && /wallpapers/.test(rel) && /\.(jpe?g|png)$/.test(lower);
    const goJPEG = rel.startsWith('go/') && /\.jpe?g$/.test(lower) && !/corrupt|empty|invalid|broken|bad/.test(lower);
    if (!wallpaper && !goJPEG) return false;
    const size = fs.statSync(path.join(corpus, rel)).size;
    return size > 1024 && size <= MAX_FILE_BYTES;
  });
  return wanted.sort().slice(0, LIBRARY_SIZE);
}

function makeLibrary() {
  assert.ok(fs.existsSync(corpus), `${corpus} is missing: run scripts/setup.sh --test (make setup-test)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shoebox-e2e-'));
  // When we are root the embedded PostgreSQL runs as "postgres", which must
  // reach the data folder; mkdtemp makes it 0700.
  fs.chmodSync(tmp, 0o755);
  library = path.join(tmp, 'library');
  dataDir = path.join(tmp, 'data');
  pgData = path.join(dataDir, 'pg', 'data');
  fs.mkdirSync(library, { mode: 0o755 });
  fs.mkdirSync(dataDir, { mode: 0o755 });
  copied = pickPhotos();
  assert.ok(copied.length >= 60, `only ${copied.length} sample photos found under ${corpus}`);
  for (const rel of copied) {
    const dst = path.join(library, rel);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    const src = path.join(corpus, rel);
    fs.copyFileSync(src, dst);
    const st = fs.statSync(src); // keep the file time, as cp -p would: it is
    fs.utimesSync(dst, st.atime, st.mtime); // "Taken" for photos without EXIF
  }
  // A search word from a known file name: the longest run of letters in
  // the first file's name (e.g. "Klootwijk" from Bridge_by_Sander_Klootwijk.jpg).
  const words = path.basename(copied[0]).replace(/\.[^.]+$/, '').split(/[^A-Za-z]+/).filter((w) => w.length >= 4);
  searchWord = words.sort((a, b) => b.length - a.length)[0] ?? 'wallpapers';
}

// ---------------------------------------------------------------- server

async function startServer() {
  assert.ok(fs.existsSync(bin), `${bin} is missing: run make build first`);
  const env = { ...process.env };
  delete env.DATABASE_URL; // embedded mode
  for (const k of Object.keys(env)) if (k.startsWith('SHOEBOX_')) delete env[k];
  // Port 0: the kernel picks a free port and shoebox prints the address it got.
  server = spawn(bin, ['serve', '--library', library, '--data', dataDir, '--addr', '127.0.0.1:0'],
    { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  serverExit = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));
  let onAddr;
  const addr = new Promise((resolve) => { onAddr = resolve; });
  const collect = (chunk) => {
    serverLog += chunk.toString();
    const m = /Shoebox is serving (http:\/\/[^\s/]+)\//.exec(serverLog);
    if (m) onAddr(m[1]);
    const d = /embedded PostgreSQL running dir=("[^"]+"|\S+)/.exec(serverLog);
    if (d) pgData = d[1].replace(/^"|"$/g, '');
  };
  server.stdout.on('data', collect);
  server.stderr.on('data', collect);
  const started = await Promise.race([
    addr,
    serverExit.then((e) => { throw new Error(`shoebox exited early (${JSON.stringify(e)}):\n${tail(serverLog)}`); }),
    later(90_000).then(() => { throw new Error(`shoebox did not start in 90 s:\n${tail(serverLog)}`); }),
  ]);
  baseURL = started;
  await waitFor('/healthz', 30_000, async (res) => res.ok);
  const stats = await waitFor('/api/stats', INDEX_TIMEOUT_MS, async (res) => {
    if (!res.ok) return false;
    const s = await res.json();
    return s.queue?.pending === 0 && s.photos >= PAGE_SIZE ? s : false;
  });
  console.log(`# indexed ${stats.photos} photos from ${copied.length} files at ${baseURL}`);
}

// waitFor polls a path until ok(res) returns something truthy, which it returns.
async function waitFor(p, timeoutMs, ok) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`shoebox exited while waiting for ${p}:\n${tail(serverLog)}`);
    }
    try {
      const res = await fetch(baseURL + p, { signal: AbortSignal.timeout(5_000) });
      const v = await ok(res);
      if (v) return v;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${p} (${last}):\n${tail(serverLog)}`);
    await sleep(500);
  }
}

const tail = (s, n = 40) => s.trimEnd().split('\n').slice(-n).join('\n');

// stopServer sends SIGTERM and waits; shoebox stops its embedded PostgreSQL
// on the way out. Returns the exit status (or null if it had to be killed).
async function stopServer() {
  if (!server) return null;
  let exit = null;
  if (server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    exit = await Promise.race([serverExit, later(30_000).then(() => null)]);
    if (!exit) {
      server.kill('SIGKILL');
      await serverExit;
    }
  } else {
    exit = await serverExit;
  }
  return exit;
}

// postgresLeft lists the pids of postgres processes still running on our
// cluster: the postmaster.pid's if alive, and any process whose command line
// names our PGDATA.
function postgresLeft() {
  const pids = new Set();
  try {
    const pid = parseInt(fs.readFileSync(path.join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0], 10);
    if (pid > 0 && alive(pid)) pids.add(pid);
  } catch { /* no pid file: not running */ }
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      if (/postgres/.test(cmd) && cmd.includes(pgData)) pids.add(Number(d));
    } catch { /* gone */ }
  }
  return [...pids];
}

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; }
}

// stopPostgres is the fallback when shoebox left its cluster running.
function stopPostgres() {
  const bins = fs.existsSync('/usr/lib/postgresql')
    ? fs.readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a)
      .map((v) => `/usr/lib/postgresql/${v}/bin/pg_ctl`).filter((p) => fs.existsSync(p))
    : [];
  const pgctl = bins[0] ?? 'pg_ctl';
  const args = ['stop', '-D', pgData, '-m', 'fast', '-w'];
  const r = process.getuid?.() === 0
    ? spawnSync('runuser', ['-u', 'postgres', '--', pgctl, ...args], { encoding: 'utf8', cwd: '/' })
    : spawnSync(pgctl, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

let cleanedUp = false;
async function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  try { await browser?.close(); } catch { /* already gone */ }
  await stopServer();
  if (pgData && postgresLeft().length) {
    console.log(`# postgres still running on ${pgData}; stopping it: ${stopPostgres()}`);
  }
  if (tmp && !process.env.SHOEBOX_E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  else if (tmp) console.log(`# kept ${tmp}`);
}

// Last resort if node itself is interrupted: stop what we started.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { cleanup().finally(() => process.exit(130)); });
}
process.once('exit', () => {
  if (cleanedUp) return;
  try { server?.kill('SIGKILL'); } catch { /* gone */ }
  if (pgData && postgresLeft().length) stopPostgres();
});

// ---------------------------------------------------------------- browser

// watch collects what a person would see as breakage: console errors,
// uncaught exceptions, failed requests and HTTP error answers.
function watch(page) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return problems;
}

async function newPage() {
  const page = await context.newPage();
  return { page, problems: watch(page) };
}

// scrollThrough scrolls to the bottom step by step so lazy images load, then
// back to the top.
async function scrollThrough(page) {
  for (let i = 0; i < 100; i++) {
    const done = await page.evaluate(() => {
      window.scrollBy(0, window.innerHeight * 0.8);
      return window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2;
    });
    await sleep(100);
    if (done) break;
  }
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
}

async function waitImagesDecoded(page, selector, timeout = 60_000) {
  try {
    await page.waitForFunction((sel) => {
      const imgs = [...document.querySelectorAll(sel)];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    }, selector, { timeout, polling: 200 });
  } catch (e) {
    const bad = await page.$$eval(selector, (imgs) => imgs
      .filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.currentSrc || i.src));
    throw new Error(`images not decoded after ${timeout} ms (${bad.length}): ${bad.slice(0, 10).join(', ')}`);
  }
}

// ---------------------------------------------------------------- tests

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  makeLibrary();
  await startServer();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL });
}, { timeout: INDEX_TIMEOUT_MS + 120_000 });

after(async () => {
  await cleanup();
}, { timeout: 90_000 });

test('gallery shows the first page of 50 lazy thumbnails, all decoded', { timeout: 120_000 }, async () => {
  const { page, problems } = await newPage();
  const res = await page.goto('/');
  assert.equal(res.status(), 200);
  await page.waitForSelector('.grid img');
  await scrollThrough(page);
  await waitImagesDecoded(page, '.grid img');
  const imgs = await page.$$eval('.grid img', (els) => els.map((i) => ({
    src: i.getAttribute('src'), width: i.getAttribute('width'), height: i.getAttribute('height'),
    loading: i.getAttribute('loading'), alt: i.getAttribute('alt'),
    complete: i.complete, naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight,
  })));
  assert.equal(imgs.length, PAGE_SIZE, `thumbnails on the first page`);
  for (const i of imgs) {
    assert.match(i.src, /^\/thumbnail\/[^/?]+/, `thumbnail src ${i.src}`);
    assert.ok(Number(i.width) > 0 && Number(i.height) > 0, `${i.src} width/height attributes: ${i.width}×${i.height}`);
    assert.equal(i.loading, 'lazy', `${i.src} loading`);
    assert.ok(i.alt, `${i.src} has alt text`);
    assert.ok(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0, `${i.src} decoded`);
  }
  assert.equal(new Set(imgs.map((i) => i.src)).size, PAGE_SIZE, 'thumbnails are distinct');
  // More photos than one page: an "older photos" link.
  assert.equal(await page.locator('nav.pager a[rel=next]').count(), 1, 'pager link to the next page');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(shots, 'gallery.png'), fullPage: true });
  assert.deepEqual(problems, [], 'no console errors or failed requests');
  await page.close();
});

test('clicking a photo opens its page with a decoded preview and metadata', { timeout: 120_000 }, async () => {
  const { page, problems } = await newPage();
  await page.goto('/');
  const first = page.locator('.grid a.tile').first();
  const href = await first.getAttribute('href');
  assert.match(href, /^\/photo\/[^/]+$/);
  // Let every thumbnail finish first, so the navigation aborts no request
  // (chromium fetches lazy images well ahead of the viewport).
  await scrollThrough(page);
  await waitImagesDecoded(page, '.grid img');
  await page.evaluate(() => window.scrollTo(0, 0));
  await first.click();
  await page.waitForURL((u) => u.pathname === href);
  assert.match(new URL(page.url()).pathname, /^\/photo\/[^/]+$/);
  await waitImagesDecoded(page, 'img.preview', 30_000);
  const nat = await page.$eval('img.preview', (i) => ({ w: i.naturalWidth, h: i.naturalHeight }));
  assert.ok(nat.w > 0 && nat.h > 0, 'preview decoded');
  const rows = await page.$$eval('table.meta tr', (trs) => Object.fromEntries(trs.map((tr) => [
    tr.querySelector('th')?.textContent.trim(), tr.querySelector('td')?.textContent.trim()])));
  assert.ok(rows.Taken, `a "Taken" row with a value: ${JSON.stringify(rows)}`);
  assert.ok(rows.Size, `a "Size" row: ${JSON.stringify(rows)}`);
  assert.ok(rows.Files, `a "Files" row: ${JSON.stringify(rows)}`);
  await page.screenshot({ path: path.join(shots, 'photo.png'), fullPage: true });
  assert.deepEqual(problems, [], 'no console errors or failed requests');
  await page.close();
});

// A preview larger than the window must shrink without changing shape
// (`max-width` and `max-height` together need `width:auto`, or square and
// portrait previews are squashed).
test('a tall preview keeps its aspect ratio', { timeout: 60_000 }, async () => {
  const list = await (await fetch(baseURL + '/api/photos?limit=500')).json();
  const tall = list.photos.filter((p) => p.height >= p.width && p.height > 1000)
    .sort((a, b) => b.height / b.width - a.height / a.width)[0];
  assert.ok(tall, 'a square or portrait photo taller than 1000 px in the library');
  const { page, problems } = await newPage();
  await page.goto(`/photo/${tall.id}`);
  await waitImagesDecoded(page, 'img.preview', 30_000);
  const box = await page.$eval('img.preview', (i) => {
    const r = i.getBoundingClientRect();
    return { w: r.width, h: r.height, nw: i.naturalWidth, nh: i.naturalHeight, vh: window.innerHeight };
  });
  assert.ok(box.h <= box.vh, `preview fits the window: ${JSON.stringify(box)}`);
  const shown = box.w / box.h;
  const real = box.nw / box.nh;
  assert.ok(Math.abs(shown / real - 1) < 0.02,
    `preview of ${tall.path} shown ${box.w.toFixed(0)}×${box.h.toFixed(0)} (ratio ${shown.toFixed(3)}), image ${box.nw}×${box.nh} (ratio ${real.toFixed(3)})`);
  assert.deepEqual(problems, [], 'no console errors or failed requests');
  await page.close();
});

test('search finds a photo by a word of its file name', { timeout: 60_000 }, async () => {
  const { page, problems } = await newPage();
  const res = await page.goto(`/search?q=${encodeURIComponent(searchWord)}`);
  assert.equal(res.status(), 200);
  const alts = await page.$$eval('.grid img', (els) => els.map((i) => i.getAttribute('alt')));
  assert.ok(alts.length >= 1, `results for "${searchWord}"`);
  assert.ok(alts.some((a) => a.toLowerCase().includes(searchWord.toLowerCase())),
    `a result's path contains "${searchWord}": ${alts.join(', ')}`);
  assert.equal(await page.inputValue('input[name=q]'), searchWord, 'search box keeps the query');
  await scrollThrough(page);
  await waitImagesDecoded(page, '.grid img', 30_000);
  const none = await page.goto('/search?q=zzqxnotaword');
  assert.equal(none.status(), 200);
  assert.equal(await page.locator('.grid img').count(), 0, 'no results for nonsense');
  assert.deepEqual(problems, [], 'no console errors or failed requests');
  await page.close();
});

test('stats page shows the photo count', { timeout: 60_000 }, async () => {
  const api = await (await fetch(baseURL + '/api/stats')).json();
  const { page, problems } = await newPage();
  const res = await page.goto('/stats');
  assert.equal(res.status(), 200);
  const shown = (await page.textContent('#photos')).trim();
  assert.equal(shown, String(api.photos), 'photo count on /stats matches /api/stats');
  assert.ok(api.photos >= PAGE_SIZE);
  await page.screenshot({ path: path.join(shots, 'stats.png'), fullPage: true });
  assert.deepEqual(problems, [], 'no console errors or failed requests');
  await page.close();
});

test('server stops on SIGTERM and leaves no postgres behind', { timeout: 90_000 }, async () => {
  try { await browser?.close(); } catch { /* gone */ }
  browser = null;
  const exit = await stopServer();
  assert.ok(exit, `shoebox did not exit within 30 s of SIGTERM:\n${tail(serverLog)}`);
  assert.deepEqual(exit, { code: 0, signal: null }, `shoebox exit status:\n${tail(serverLog)}`);
  const left = postgresLeft();
  if (left.length) stopPostgres();
  assert.deepEqual(left, [], `postgres processes left running on ${pgData}`);
});
