// End-to-end test of the gallery as a person sees it: real shoebox servers
// (bin/shoebox, embedded PostgreSQL) index small temporary libraries, and
// Debian's chromium, driven by playwright-core, browses them. Five groups:
//
//   - gallery: 70 sample photos from testdata/corpus (and a photo and a
//     non-image under very long names), no CLIP model; also at 390×844;
//   - search by meaning: the toy CLIP model and its 24 colour photos (made by
//     `go run ./internal/ai/toymodel/mktoy`), ranked search, similar photos,
//     tags and near-duplicates;
//   - sign-in: an account made through /setup; sign in, browse, sign out,
//     a wrong password, and media refused once signed out;
//   - timeline: 160 photos made by vips over three months: headings,
//     justified rows, scrolling on, the date scrubber, ?at=, no script, phone;
//   - select: 130 photos made by vips: selecting in the timeline and the
//     grids (click, shift, keys) and acting on it (favourite, archive,
//     trash, restore, album, share link, zip), the photo page as a
//     lightbox (arrows, Esc, f, ?, Delete, swipe, preloading), the phone's
//     header and bar.
//
// Run from the repository root after `make build`:
//
//   node e2e/gallery.test.mjs        (or: make e2e)
//   SHOEBOX_E2E_GROUPS=timeline node e2e/gallery.test.mjs   (some groups only)
//
// It builds nothing but the toy model (go run). Screenshots land in
// e2e/screenshots/. The servers, their embedded PostgreSQL and the browsers
// are stopped even when a test fails. SHOEBOX_E2E_KEEP=1 keeps the temporary
// libraries and data folders. The toy model is made from OpenAI's CLIP
// vocabulary, kept in internal/ai/clipvocab.

import { describe, test, before, after } from 'node:test';
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

// The toy CLIP model's colour library (internal/ai/toymodel.WritePhotos with
// 6 per colour): img_<k><n>.jpg, k = a red, b green, c blue, d grey.
const TOY_PHOTOS = 24;
const TOY_PER_COLOUR = 6;
const TOY_MODEL_NAME = 'toy-clip'; // the model folder's base name
const EMBED_TIMEOUT_MS = 2 * 60_000;
const MKTOY_TIMEOUT_MS = 5 * 60_000; // go run may compile first

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// later resolves after ms without keeping node alive: for the losing side of
// a Promise.race, so a finished run exits at once.
const later = (ms) => new Promise((r) => setTimeout(r, ms).unref());
const tail = (s, n = 40) => s.trimEnd().split('\n').slice(-n).join('\n');

// makeTmp makes a temporary root for one group. When we are root the
// embedded PostgreSQL runs as "postgres", which must reach the data folder;
// mkdtemp makes it 0700.
function makeTmp(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}

// ---------------------------------------------------------------- libraries

// pickPhotos lists decodable sample photos: the desktop wallpapers (JPEG,
// PNG) and the Go packages' JPEG test images, minus the deliberately broken
// ones, sorted.
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
  return wanted.sort();
}

// makeGalleryLibrary copies the sample photos into g.tmp/library and picks a
// search word from a known file name.
function makeGalleryLibrary(g) {
  assert.ok(fs.existsSync(corpus), `${corpus} is missing: run scripts/setup.sh --test (make setup-test)`);
  g.tmp = makeTmp('shoebox-e2e-');
  g.library = path.join(g.tmp, 'library');
  g.dataDir = path.join(g.tmp, 'data');
  fs.mkdirSync(g.library, { mode: 0o755 });
  fs.mkdirSync(g.dataDir, { mode: 0o755 });
  const picked = pickPhotos();
  g.copied = picked.slice(0, LIBRARY_SIZE);
  assert.ok(g.copied.length >= 60, `only ${g.copied.length} sample photos found under ${corpus}`);
  for (const rel of g.copied) {
    const dst = path.join(g.library, rel);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    const src = path.join(corpus, rel);
    fs.copyFileSync(src, dst);
    const st = fs.statSync(src); // keep the file time, as cp -p would: it is
    fs.utimesSync(dst, st.atime, st.mtime); // "Taken" for photos without EXIF
  }
  // A search word from a known file name: the longest run of letters in
  // the first file's name (e.g. "Klootwijk" from Bridge_by_Sander_Klootwijk.jpg).
  const words = path.basename(g.copied[0]).replace(/\.[^.]+$/, '').split(/[^A-Za-z]+/).filter((w) => w.length >= 4);
  g.searchWord = words.sort((a, b) => b.length - a.length)[0] ?? 'wallpapers';
  // For the phone checks: one more photo under a very long folder and file
  // name with no spaces (it must wrap, not widen the page), and a file that
  // is not an image under a long name (listed on /stats as not indexed).
  const extra = picked[LIBRARY_SIZE] ?? g.copied[g.copied.length - 1];
  g.longBase = `Zanzibarpanorama_${'abcdefghijklmnop'.repeat(10)}`;
  const longDir = path.join(g.library, `Holidays_${'x'.repeat(90)}`);
  fs.mkdirSync(longDir, { mode: 0o755 });
  fs.copyFileSync(path.join(corpus, extra), path.join(longDir, `${g.longBase}${path.extname(extra)}`));
  fs.writeFileSync(path.join(longDir, `Broken_${'q'.repeat(150)}.jpg`), 'not an image at all\n');
}

// clipBPE is OpenAI's CLIP vocabulary (the repository's copy), which the
// toy model's tokenizer files are made from.
function clipBPE() {
  const p = path.resolve(repo, 'internal', 'ai', 'clipvocab', 'bpe_simple_vocab_16e6.txt.gz');
  assert.ok(fs.existsSync(p), `CLIP vocabulary ${p} is missing`);
  return p;
}

// makeToyLibrary writes the toy CLIP model (g.tmp/toy-clip) and its colour
// photos (g.tmp/colours) with mktoy.
function makeToyLibrary(g) {
  const bpe = clipBPE();
  g.tmp = makeTmp('shoebox-e2e-meaning-');
  g.model = path.join(g.tmp, TOY_MODEL_NAME);
  g.library = path.join(g.tmp, 'colours');
  g.dataDir = path.join(g.tmp, 'data2');
  fs.mkdirSync(g.dataDir, { mode: 0o755 });
  const r = spawnSync('go', ['run', './internal/ai/toymodel/mktoy', '-model', g.model, '-photos', g.library, '-bpe', bpe],
    { cwd: repo, encoding: 'utf8', timeout: MKTOY_TIMEOUT_MS });
  assert.ok(!r.error && r.status === 0,
    `go run ./internal/ai/toymodel/mktoy failed (${r.error ?? `exit ${r.status}, signal ${r.signal}`}):\n${r.stdout}${r.stderr}`);
  const photos = fs.readdirSync(g.library).filter((f) => /^img_[a-d]\d+\.jpg$/.test(f));
  assert.equal(photos.length, TOY_PHOTOS, `mktoy's colour photos in ${g.library}: ${photos.join(', ')}`);
  assert.ok(fs.existsSync(path.join(g.model, 'visual', 'model.onnx')), `toy model in ${g.model}`);
  for (const d of [g.model, g.library]) fs.chmodSync(d, 0o755);
}

// ---------------------------------------------------------------- servers

// Every server started, for the last-resort cleanup on exit.
const servers = [];

// newServer is what the test knows of one `shoebox serve`: its process, exit,
// log, address and the embedded cluster's PGDATA (from the server's log when
// it says).
function newServer(name, dataDir) {
  const s = { name, proc: null, exit: null, log: '', baseURL: null, pgData: path.join(dataDir, 'pg', 'data') };
  servers.push(s);
  return s;
}

// startServer runs bin/shoebox serve in embedded mode on 127.0.0.1:0 with the
// given extra arguments and environment (every other SHOEBOX_* variable and
// DATABASE_URL removed), waits for its address and /healthz, then polls
// /api/stats until ready(stats) is truthy, which it returns.
async function startServer(s, { library, dataDir, args = [], env: extra = {}, ready, readyTimeoutMs }) {
  assert.ok(fs.existsSync(bin), `${bin} is missing: run make build first`);
  const env = { ...process.env };
  delete env.DATABASE_URL; // embedded mode
  for (const k of Object.keys(env)) if (k.startsWith('SHOEBOX_')) delete env[k];
  Object.assign(env, extra);
  // Port 0: the kernel picks a free port and shoebox prints the address it got.
  s.proc = spawn(bin, ['serve', '--library', library, '--data', dataDir, '--addr', '127.0.0.1:0', ...args],
    { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  s.exit = new Promise((resolve) => s.proc.on('exit', (code, signal) => resolve({ code, signal })));
  let onAddr;
  const addr = new Promise((resolve) => { onAddr = resolve; });
  const collect = (chunk) => {
    s.log += chunk.toString();
    const m = /Shoebox is serving (http:\/\/[^\s/]+)\//.exec(s.log);
    if (m) onAddr(m[1]);
    const d = /embedded PostgreSQL running dir=("[^"]+"|\S+)/.exec(s.log);
    if (d) s.pgData = d[1].replace(/^"|"$/g, '');
  };
  s.proc.stdout.on('data', collect);
  s.proc.stderr.on('data', collect);
  s.baseURL = await Promise.race([
    addr,
    s.exit.then((e) => { throw new Error(`shoebox (${s.name}) exited early (${JSON.stringify(e)}):\n${tail(s.log)}`); }),
    later(90_000).then(() => { throw new Error(`shoebox (${s.name}) did not start in 90 s:\n${tail(s.log)}`); }),
  ]);
  await waitFor(s, '/healthz', 30_000, async (res) => res.ok);
  return waitFor(s, '/api/stats', readyTimeoutMs, async (res) => (res.ok ? ready(await res.json()) : false));
}

// waitFor polls a path until ok(res) returns something truthy, which it returns.
async function waitFor(s, p, timeoutMs, ok) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) {
      throw new Error(`shoebox (${s.name}) exited while waiting for ${p}:\n${tail(s.log)}`);
    }
    try {
      const res = await fetch(s.baseURL + p, { signal: AbortSignal.timeout(5_000) });
      const v = await ok(res);
      if (v) return v;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${p} on ${s.name} (${last}):\n${tail(s.log)}`);
    await sleep(500);
  }
}

// getJSON fetches a path of a running server.
async function getJSON(s, p) {
  const res = await fetch(s.baseURL + p, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200, `GET ${p}`);
  return res.json();
}

// stopServer sends SIGTERM and waits; shoebox stops its embedded PostgreSQL
// on the way out. Returns the exit status (or null if it had to be killed).
async function stopServer(s) {
  if (!s?.proc) return null;
  let exit = null;
  if (s.proc.exitCode === null && s.proc.signalCode === null) {
    s.proc.kill('SIGTERM');
    exit = await Promise.race([s.exit, later(30_000).then(() => null)]);
    if (!exit) {
      s.proc.kill('SIGKILL');
      await s.exit;
    }
  } else {
    exit = await s.exit;
  }
  return exit;
}

// postgresLeft lists the pids of postgres processes still running on a
// cluster: the postmaster.pid's if alive, and any process whose command line
// names its PGDATA.
function postgresLeft(pgData) {
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
function stopPostgres(pgData) {
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

// cleanup stops one group's browser, server and PostgreSQL and removes its
// temporary folder; it runs once per group.
async function cleanup(g) {
  if (g.cleanedUp) return;
  g.cleanedUp = true;
  try { await g.browser?.close(); } catch { /* already gone */ }
  g.browser = null;
  await stopServer(g.server);
  const pgData = g.server?.pgData;
  if (pgData && postgresLeft(pgData).length) {
    console.log(`# postgres still running on ${pgData}; stopping it: ${stopPostgres(pgData)}`);
  }
  if (g.tmp && !process.env.SHOEBOX_E2E_KEEP) fs.rmSync(g.tmp, { recursive: true, force: true });
  else if (g.tmp) console.log(`# kept ${g.tmp}`);
}

// The groups' state, shared by their hooks and tests.
const gallery = { name: 'gallery' };
const meaning = { name: 'meaning' };
const signin = { name: 'signin' };
const timeline = { name: 'timeline' };
const select = { name: 'select' };

// SHOEBOX_E2E_GROUPS=timeline,gallery runs only those groups (their
// before hooks too, which --test-name-pattern does not spare); unset: all.
const GROUPS = process.env.SHOEBOX_E2E_GROUPS?.split(',').map((g) => g.trim()).filter(Boolean);
const only = (name) => ({ skip: GROUPS && !GROUPS.includes(name) ? `not in SHOEBOX_E2E_GROUPS` : false });

// Last resort if node itself is interrupted: stop what we started.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    Promise.allSettled([cleanup(gallery), cleanup(meaning), cleanup(signin), cleanup(timeline), cleanup(select)]).finally(() => process.exit(130));
  });
}
process.once('exit', () => {
  for (const s of servers) {
    if (s.proc && s.proc.exitCode === null && s.proc.signalCode === null) {
      try { s.proc.kill('SIGKILL'); } catch { /* gone */ }
    }
    if (s.pgData && postgresLeft(s.pgData).length) stopPostgres(s.pgData);
  }
});

// stopsCleanly is the last test of a group: SIGTERM makes the server exit 0
// and its embedded PostgreSQL stop.
async function stopsCleanly(g) {
  try { await g.browser?.close(); } catch { /* gone */ }
  g.browser = null;
  const s = g.server;
  const exit = await stopServer(s);
  assert.ok(exit, `shoebox (${s.name}) did not exit within 30 s of SIGTERM:\n${tail(s.log)}`);
  assert.deepEqual(exit, { code: 0, signal: null }, `shoebox (${s.name}) exit status:\n${tail(s.log)}`);
  const left = postgresLeft(s.pgData);
  if (left.length) stopPostgres(s.pgData);
  assert.deepEqual(left, [], `postgres processes left running on ${s.pgData}`);
}

// ---------------------------------------------------------------- browser

async function launchBrowser(g) {
  g.browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  g.context = await g.browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: g.server.baseURL });
}

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

async function newPage(g) {
  const page = await g.context.newPage();
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

// loadAll scrolls a page through so every lazy image in selector loads, waits
// until they all decode, and returns to the top.
async function loadAll(page, selector, timeout = 60_000) {
  await scrollThrough(page);
  await waitImagesDecoded(page, selector, timeout);
  await page.evaluate(() => window.scrollTo(0, 0));
}

// images describes the images matching selector in scope (a page or a
// locator): alt, src, decoded.
const images = (scope, selector) => scope.locator(selector).evaluateAll((els) => els.map((i) => ({
  alt: i.getAttribute('alt') ?? '', src: i.getAttribute('src'),
  decoded: i.complete && i.naturalWidth > 0 && i.naturalHeight > 0,
})));

// colourOf is a toy photo's colour key from its path: "img_a3.jpg" → "img_a".
const colourOf = (alt) => /^img_[a-d]/.exec(alt)?.[0] ?? `? ${alt}`;

// ---------------------------------------------------------------- phone

const PHONE = { width: 390, height: 844 };
const TOUCH_PX = 44; // the smallest touch target we allow in the header

// phoneContext is a second browser context the size of a 390×844 phone, as a
// mobile browser lays it out (it honours the viewport meta tag).
function phoneContext(g) {
  return g.browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, baseURL: g.server.baseURL });
}

// checkFits asserts that a page fits the phone's width: no horizontal scroll;
// every link, button and field of the header inside the screen, unclipped,
// touch-sized and not on top of another; and no element of the page whose
// content spills out of its box or off the screen (photo tiles crop their
// thumbnails on purpose and are left out). A mobile browser widens its
// layout to fit a page that overflows, so innerWidth is checked too.
async function checkFits(page, what) {
  const problems = await page.evaluate(({ vw, touch }) => {
    const out = [];
    if (window.innerWidth !== vw) out.push(`laid out ${window.innerWidth} px wide, not ${vw} (no viewport meta tag, or something overflows)`);
    const sw = document.scrollingElement.scrollWidth;
    if (sw > vw) out.push(`scrolls sideways: scrollWidth ${sw} > ${vw}`);
    const name = (el) => `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).replace(/ /g, '.')}` : ''}`
      + ` "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 40)}"`;
    const boxes = [];
    for (const el of document.querySelectorAll('header a, header button, header input, header select, header summary')) {
      // Links folded under a closed "More" menu are not shown, on purpose.
      if (el.closest('details:not([open])') && !el.matches('summary')) continue;
      const b = el.getBoundingClientRect();
      const bad = [];
      if (b.width <= 0 || b.height <= 0) bad.push('not shown');
      if (b.left < 0 || b.right > vw + 0.5) bad.push(`off screen (${b.left.toFixed(1)}..${b.right.toFixed(1)} of ${vw})`);
      if (el.tagName !== 'INPUT' && el.scrollWidth > el.clientWidth + 1) bad.push(`clipped (${el.scrollWidth} > ${el.clientWidth})`);
      if (b.height < touch) bad.push(`${b.height.toFixed(1)} px tall`);
      for (const o of boxes) {
        if (b.left < o.b.right - 0.5 && o.b.left < b.right - 0.5 && b.top < o.b.bottom - 0.5 && o.b.top < b.bottom - 0.5) {
          bad.push(`overlaps ${o.n}`);
        }
      }
      boxes.push({ b, n: name(el) });
      if (bad.length) out.push(`header ${name(el)}: ${bad.join(', ')}`);
    }
    // A strip that scrolls sideways on purpose (the date scrubber) may hold
    // more than it shows; it must fit the screen itself.
    const inScroller = (el) => {
      for (let p = el.parentElement; p; p = p.parentElement) if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true;
      return false;
    };
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('.tile') || el.closest('.sr') || ['SCRIPT', 'STYLE', 'INPUT'].includes(el.tagName)) continue;
      if (inScroller(el)) continue;
      if (['auto', 'scroll'].includes(getComputedStyle(el).overflowX)) {
        const b = el.getBoundingClientRect();
        if (b.right > vw + 0.5 || b.left < -0.5) out.push(`${name(el)}: off screen (${b.left.toFixed(1)}..${b.right.toFixed(1)})`);
        continue;
      }
      const b = el.getBoundingClientRect();
      if (b.width === 0 && b.height === 0) continue;
      if (b.right > vw + 0.5 || b.left < -0.5) out.push(`${name(el)}: off screen (${b.left.toFixed(1)}..${b.right.toFixed(1)})`);
      else if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) out.push(`${name(el)}: content ${el.scrollWidth} px in ${el.clientWidth} px`);
    }
    return out;
  }, { vw: PHONE.width, touch: TOUCH_PX });
  assert.deepEqual(problems.slice(0, 25), [], `${what} does not fit a ${PHONE.width} px screen`);
}

// checkWraps asserts that a long unbroken text runs over several lines
// inside the screen rather than off it.
async function checkWraps(locator, what) {
  const r = await locator.evaluate((el) => {
    const b = el.getBoundingClientRect();
    const line = parseFloat(getComputedStyle(el).lineHeight) || 20;
    return { left: b.left, right: b.right, height: b.height, line, vw: window.innerWidth };
  });
  assert.ok(r.left >= 0 && r.right <= r.vw + 0.5, `${what} inside the screen: ${JSON.stringify(r)}`);
  assert.ok(r.height >= 2 * r.line - 1, `${what} wraps onto several lines: ${JSON.stringify(r)}`);
}

// checkYearChart asserts that /stats draws /api/stats's by-year figures as a
// named chart with one bar per year, in year order, each with its count
// written beside it and its length proportional to the count.
async function checkYearChart(page, api) {
  const years = Object.keys(api.by_year).sort();
  assert.ok(years.length >= 1, `photos by year in /api/stats: ${JSON.stringify(api.by_year)}`);
  const chart = page.locator('table.bars');
  assert.equal(await chart.count(), 1, 'a by-year chart');
  const name = await chart.evaluate((t) => (t.getAttribute('aria-labelledby') ?? '').split(/\s+/)
    .map((id) => document.getElementById(id)?.textContent.trim()).join(' '));
  assert.equal(name, 'By year', 'the chart is named by its heading');
  const rows = await chart.locator('tr').evaluateAll((trs) => trs.map((tr) => ({
    year: tr.querySelector('th')?.textContent.trim(),
    n: tr.querySelector('td.n')?.textContent.trim(),
    bar: tr.querySelector('.bar')?.getBoundingClientRect().width ?? -1,
    track: tr.querySelector('td.track')?.getBoundingClientRect().width ?? -1,
  })));
  assert.deepEqual(rows.map((r) => r.year), years, 'one bar per year, in order');
  assert.deepEqual(rows.map((r) => r.n), years.map((y) => String(api.by_year[y])), 'each bar\'s count');
  const most = Math.max(...years.map((y) => api.by_year[y]));
  const longest = Math.max(...rows.map((r) => r.bar));
  assert.ok(longest >= 80, `the busiest year's bar is long enough to read: ${longest} px`);
  for (const [i, r] of rows.entries()) {
    const want = (longest * api.by_year[years[i]]) / most;
    assert.ok(Math.abs(r.bar - want) <= 1.5, `bar ${r.year} is ${r.bar.toFixed(1)} px, want ${want.toFixed(1)} (${api.by_year[years[i]]} of ${most})`);
    assert.ok(r.bar <= r.track + 0.5, `bar ${r.year} stays in its track`);
  }
}

// ---------------------------------------------------------------- gallery

describe('gallery', only('gallery'), () => {
  const g = gallery;

  before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    makeGalleryLibrary(g);
    g.server = newServer('gallery', g.dataDir);
    const stats = await startServer(g.server, {
      library: g.library, dataDir: g.dataDir, readyTimeoutMs: INDEX_TIMEOUT_MS,
      ready: (s) => (s.queue?.pending === 0 && s.photos >= PAGE_SIZE ? s : false),
    });
    console.log(`# indexed ${stats.photos} photos from ${g.copied.length} files at ${g.server.baseURL}`);
    await launchBrowser(g);
  }, { timeout: INDEX_TIMEOUT_MS + 120_000 });

  after(async () => {
    await cleanup(g);
  }, { timeout: 90_000 });

  // The server's page, as it is without script (the timeline group checks
  // what the script makes of it).
  test('gallery shows the first page of 50 lazy thumbnails, all decoded', { timeout: 120_000 }, async () => {
    const ctx = await g.browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: g.server.baseURL, javaScriptEnabled: false });
    const page = await ctx.newPage();
    const problems = watch(page);
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
    await ctx.close();
  });

  test('clicking a photo opens its page with a decoded preview and metadata', { timeout: 120_000 }, async () => {
    const { page, problems } = await newPage(g);
    await page.goto('/');
    await page.waitForSelector('#timeline.js a.tile');
    const first = page.locator('a.tile').first();
    const href = await first.getAttribute('href');
    assert.match(href, /^\/photo\/[^/]+$/);
    // Let every thumbnail finish first, so the navigation aborts no request
    // (chromium fetches lazy images well ahead of the viewport).
    await loadAll(page, 'a.tile img');
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
    const list = await getJSON(g.server, '/api/photos?limit=500');
    const tall = list.photos.filter((p) => p.height >= p.width && p.height > 1000)
      .sort((a, b) => b.height / b.width - a.height / a.width)[0];
    assert.ok(tall, 'a square or portrait photo taller than 1000 px in the library');
    const { page, problems } = await newPage(g);
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
    const word = g.searchWord;
    const { page, problems } = await newPage(g);
    const res = await page.goto(`/search?q=${encodeURIComponent(word)}`);
    assert.equal(res.status(), 200);
    const alts = await page.$$eval('.grid img', (els) => els.map((i) => i.getAttribute('alt')));
    assert.ok(alts.length >= 1, `results for "${word}"`);
    assert.ok(alts.some((a) => a.toLowerCase().includes(word.toLowerCase())),
      `a result's path contains "${word}": ${alts.join(', ')}`);
    assert.equal(await page.inputValue('input[name=q]'), word, 'search box keeps the query');
    await scrollThrough(page);
    await waitImagesDecoded(page, '.grid img', 30_000);
    const none = await page.goto('/search?q=zzqxnotaword');
    assert.equal(none.status(), 200);
    assert.equal(await page.locator('.grid img').count(), 0, 'no results for nonsense');
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('stats page shows the photo count', { timeout: 60_000 }, async () => {
    const api = await getJSON(g.server, '/api/stats');
    const { page, problems } = await newPage(g);
    const res = await page.goto('/stats');
    assert.equal(res.status(), 200);
    const shown = (await page.textContent('#photos')).trim();
    assert.equal(shown, String(api.photos), 'photo count on /stats matches /api/stats');
    assert.ok(api.photos >= PAGE_SIZE);
    await checkYearChart(page, api);
    await page.screenshot({ path: path.join(shots, 'stats.png'), fullPage: true });
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('gallery, photo page, search and stats fit a 390 px phone screen', { timeout: 180_000 }, async () => {
    const found = await getJSON(g.server, `/api/search?q=${encodeURIComponent(g.longBase)}`);
    assert.equal(found.photos.length, 1, `the long-named photo ${g.longBase}: ${JSON.stringify(found)}`);
    const long = found.photos[0];
    const api = await getJSON(g.server, '/api/stats');
    const ctx = await phoneContext(g);
    try {
      const page = await ctx.newPage();
      const problems = watch(page);

      await page.goto('/');
      await page.waitForSelector('#timeline.js a.tile img');
      // Every thumbnail loaded first, so leaving the page aborts no request.
      await loadAll(page, 'a.tile img');
      await checkFits(page, 'gallery');
      await page.screenshot({ path: path.join(shots, 'phone-gallery.png') });

      await page.goto(`/photo/${long.id}`);
      await waitImagesDecoded(page, 'img.preview', 30_000);
      await checkFits(page, 'photo page');
      const files = page.locator('table.meta td div', { hasText: g.longBase });
      assert.equal(await files.count(), 1, 'the Files row names the long file');
      await checkWraps(files, 'the long file name on the photo page');
      await page.screenshot({ path: path.join(shots, 'phone-photo.png'), fullPage: true });

      await page.goto(`/search?q=${encodeURIComponent(g.longBase)}`);
      await loadAll(page, '.grid img');
      await checkFits(page, 'search');
      assert.equal(await page.inputValue('input[name=q]'), g.longBase, 'search box keeps the long query');
      await checkWraps(page.locator('main p.muted').first(), 'the long query in the result line');
      await page.screenshot({ path: path.join(shots, 'phone-search.png'), fullPage: true });

      await page.goto('/stats');
      await checkFits(page, 'stats');
      await checkYearChart(page, api);
      const broken = page.locator('.failures th', { hasText: 'Broken_qqq' });
      assert.equal(await broken.count(), 1, 'the file that is not an image is listed on /stats');
      await checkWraps(broken, 'the long path of the file that could not be indexed');
      await page.screenshot({ path: path.join(shots, 'phone-stats.png'), fullPage: true });

      assert.deepEqual(problems, [], 'no console errors or failed requests');
    } finally {
      await ctx.close();
    }
  });

  test('server stops on SIGTERM and leaves no postgres behind', { timeout: 90_000 }, async () => {
    await stopsCleanly(g);
  });
});

// ---------------------------------------------------------------- search by meaning

// The toy CLIP model tells the colours apart: "red" ranks the six red photos
// first, a red photo's similar photos are the other reds, and near-duplicate
// groups never mix colours.
describe('search by meaning (toy CLIP model)', only('meaning'), () => {
  const g = meaning;

  before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    makeToyLibrary(g);
    const env = { SHOEBOX_CLIP_MODEL: g.model };
    // shoebox finds third_party/ort/ by itself from the repository; name it
    // anyway when it is there (or keep the caller's SHOEBOX_ORT_LIB).
    const ort = process.env.SHOEBOX_ORT_LIB || path.join(repo, 'third_party', 'ort', 'libonnxruntime.so.1');
    if (fs.existsSync(ort)) env.SHOEBOX_ORT_LIB = ort;
    g.server = newServer('meaning', g.dataDir);
    const started = Date.now();
    const stats = await startServer(g.server, {
      library: g.library, dataDir: g.dataDir, args: ['--rescan', '0'], env, readyTimeoutMs: EMBED_TIMEOUT_MS,
      ready: (s) => (s.photos === TOY_PHOTOS && s.embedded === TOY_PHOTOS && s.queue?.pending === 0 ? s : false),
    });
    console.log(`# indexed and embedded ${stats.photos} colour photos with ${stats.model?.name} `
      + `(${stats.model?.dim}-d) in ${((Date.now() - started) / 1000).toFixed(1)} s at ${g.server.baseURL}`);
    assert.equal(stats.model?.name, TOY_MODEL_NAME, 'model in /api/stats');
    await launchBrowser(g);
  }, { timeout: MKTOY_TIMEOUT_MS + EMBED_TIMEOUT_MS + 120_000 });

  after(async () => {
    await cleanup(g);
  }, { timeout: 90_000 });

  test('"red" ranks the red photos first, by meaning', { timeout: 120_000 }, async () => {
    const { page, problems } = await newPage(g);
    const res = await page.goto('/search?q=red');
    assert.equal(res.status(), 200);
    const said = (await page.textContent('main p.muted'))?.trim() ?? '';
    assert.match(said, /ranked by meaning/, `the page says how it ranked: ${said}`);
    await loadAll(page, '.grid img');
    const imgs = await images(page, '.grid img');
    assert.ok(imgs.length >= TOY_PER_COLOUR, `at least ${TOY_PER_COLOUR} results: ${imgs.length}`);
    const top = imgs.slice(0, TOY_PER_COLOUR);
    for (const i of top) assert.ok(i.decoded, `${i.alt} (${i.src}) decoded`);
    assert.ok(top.every((i) => i.alt.startsWith('img_a')),
      `the first ${TOY_PER_COLOUR} results are the red photos: ${imgs.map((i) => i.alt).join(', ')}`);
    await page.screenshot({ path: path.join(shots, 'search-red.png'), fullPage: true });
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('a red photo\'s page shows similar red photos and tags that search', { timeout: 120_000 }, async () => {
    const { page, problems } = await newPage(g);
    await page.goto('/search?q=red');
    await loadAll(page, '.grid img');
    const first = page.locator('.grid a.tile').first();
    const href = await first.getAttribute('href');
    assert.match(href, /^\/photo\/[^/]+$/);
    const firstAlt = await first.locator('img').getAttribute('alt');
    await first.click();
    await page.waitForURL((u) => u.pathname === href);
    await waitImagesDecoded(page, 'img.preview', 30_000);

    const h2 = await page.$$eval('main h2', (els) => els.map((e) => e.textContent.trim()));
    assert.ok(h2.includes('Similar photos'), `a "Similar photos" section on ${firstAlt}'s page: ${JSON.stringify(h2)}`);
    await loadAll(page, '.grid.similar img');
    const similar = await images(page, '.grid.similar img');
    assert.ok(similar.length >= TOY_PER_COLOUR - 1, `similar photos: ${similar.length}`);
    for (const i of similar) assert.ok(i.decoded, `similar ${i.alt} (${i.src}) decoded`);
    assert.ok(similar.slice(0, TOY_PER_COLOUR - 1).every((i) => i.alt.startsWith('img_a')),
      `the first ${TOY_PER_COLOUR - 1} similar photos of ${firstAlt} are red: ${similar.map((i) => i.alt).join(', ')}`);
    assert.ok(!similar.some((i) => i.alt === firstAlt), `${firstAlt} is not similar to itself`);

    const tagRow = page.locator('table.meta tr', { has: page.locator('th', { hasText: /^Tags$/ }) });
    assert.equal(await tagRow.count(), 1, 'a "Tags" row in the metadata');
    const tags = tagRow.locator('td a.tag');
    const labels = await tags.allTextContents();
    assert.ok(labels.length >= 1, 'at least one tag link');
    await page.screenshot({ path: path.join(shots, 'photo-similar.png'), fullPage: true });

    // html/template escapes the colon in the link (q=tag%3ared_wine).
    const tagHref = new URL(await tags.first().getAttribute('href'), g.server.baseURL);
    assert.equal(tagHref.pathname, '/search', `tag link ${tagHref}`);
    assert.match(tagHref.searchParams.get('q') ?? '', /^tag:\S+$/, `tag link ${tagHref}`);
    await tags.first().click();
    await page.waitForURL((u) => u.pathname === '/search' && (u.searchParams.get('q') ?? '').startsWith('tag:'));
    const q = new URL(page.url()).searchParams.get('q');
    assert.equal(q, `tag:${labels[0].trim().replaceAll(' ', '_')}`, 'the tag search is for the tag clicked');
    await loadAll(page, '.grid img');
    const found = await images(page, '.grid img');
    assert.ok(found.length >= 1, `photos tagged ${q}`);
    for (const i of found) assert.ok(i.decoded, `${i.alt} (${i.src}) decoded`);
    assert.ok(found.some((i) => i.alt === firstAlt), `${q} finds ${firstAlt}: ${found.map((i) => i.alt).join(', ')}`);
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('near-duplicate groups keep to one colour', { timeout: 120_000 }, async () => {
    const { page, problems } = await newPage(g);
    const res = await page.goto('/duplicates');
    assert.equal(res.status(), 200);
    const groups = page.locator('.group');
    const n = await groups.count();
    assert.ok(n >= 1, 'at least one group of near-duplicates');
    await loadAll(page, '.group img');
    const seen = new Set();
    for (let k = 0; k < n; k++) {
      const imgs = await images(groups.nth(k), 'img');
      assert.ok(imgs.length >= 2, `group ${k + 1} has ${imgs.length} photos`);
      for (const i of imgs) {
        assert.ok(i.decoded, `group ${k + 1}: ${i.alt} (${i.src}) decoded`);
        assert.ok(!seen.has(i.alt), `${i.alt} is in one group only`);
        seen.add(i.alt);
      }
      const colours = new Set(imgs.map((i) => colourOf(i.alt)));
      assert.equal(colours.size, 1, `group ${k + 1} mixes colours: ${imgs.map((i) => i.alt).join(', ')}`);
    }
    console.log(`# ${n} near-duplicate groups, ${seen.size} photos`);
    await page.screenshot({ path: path.join(shots, 'duplicates.png'), fullPage: true });
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('a photo page with tags and similar photos, and the duplicates, fit a phone', { timeout: 120_000 }, async () => {
    const red = await getJSON(g.server, '/api/search?q=red');
    const ctx = await phoneContext(g);
    try {
      const page = await ctx.newPage();
      const problems = watch(page);
      await page.goto(`/photo/${red.photos[0].id}`);
      await waitImagesDecoded(page, 'img.preview', 30_000);
      await page.waitForSelector('.grid.similar img');
      await checkFits(page, 'photo page with tags');
      await loadAll(page, '.grid.similar img');
      await page.goto('/duplicates');
      await page.waitForSelector('.group img');
      await checkFits(page, 'duplicates');
      await loadAll(page, '.group img');
      await page.screenshot({ path: path.join(shots, 'phone-duplicates.png') });
      assert.deepEqual(problems, [], 'no console errors or failed requests');
    } finally {
      await ctx.close();
    }
  });

  test('stats page names the model and counts the embedded photos', { timeout: 60_000 }, async () => {
    const { page, problems } = await newPage(g);
    const res = await page.goto('/stats');
    assert.equal(res.status(), 200);
    const text = await page.textContent('main');
    assert.ok(text.includes(TOY_MODEL_NAME), `/stats names the model ${TOY_MODEL_NAME}`);
    const card = page.locator('.card', { has: page.locator('h2', { hasText: 'Search by meaning' }) });
    assert.match(await card.textContent(), new RegExp(`Model\\s*${TOY_MODEL_NAME}\\b`), 'the model row');
    assert.equal((await page.textContent('#embedded')).trim(), String(TOY_PHOTOS), 'Embedded count');
    assert.equal((await page.textContent('#photos')).trim(), String(TOY_PHOTOS), 'Photos count');
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('server stops on SIGTERM and leaves no postgres behind', { timeout: 90_000 }, async () => {
    await stopsCleanly(g);
  });
});

// ---------------------------------------------------------------- sign-in

const SIGNIN_PHOTOS = 12;
const ADMIN = 'anna';
const ADMIN_PASSWORD = 'a long enough passphrase';

// signOut presses the header's "Sign out" button and waits for /login.
async function signOut(page) {
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/login'),
    page.locator('header form[action="/logout"] button').click(),
  ]);
}

// atLogin asserts that a page shows the sign-in form, signed out.
async function atLogin(page, what) {
  assert.equal(new URL(page.url()).pathname, '/login', `${what}: at /login (${page.url()})`);
  assert.equal(await page.locator('form[action="/login"] input[name=password]').count(), 1, `${what}: the sign-in form`);
  assert.equal(await page.locator('header form[action="/logout"]').count(), 0, `${what}: no "Sign out" (signed out)`);
}

describe('sign-in (an account made through /setup)', only('signin'), () => {
  const g = signin;

  before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    g.tmp = makeTmp('shoebox-e2e-signin-');
    g.library = path.join(g.tmp, 'library');
    g.dataDir = path.join(g.tmp, 'data3');
    fs.mkdirSync(g.library, { mode: 0o755 });
    fs.mkdirSync(g.dataDir, { mode: 0o755 });
    for (const rel of pickPhotos().slice(0, SIGNIN_PHOTOS)) {
      fs.copyFileSync(path.join(corpus, rel), path.join(g.library, rel.replaceAll('/', '_')));
    }
    g.server = newServer('signin', g.dataDir);
    // No account yet: /api/stats answers this machine, so indexing can be
    // awaited before /setup creates the first admin.
    const stats = await startServer(g.server, {
      library: g.library, dataDir: g.dataDir, readyTimeoutMs: INDEX_TIMEOUT_MS,
      ready: (s) => (s.queue?.pending === 0 && s.photos >= SIGNIN_PHOTOS - 2 ? s : false),
    });
    g.photos = stats.photos;
    console.log(`# indexed ${stats.photos} photos at ${g.server.baseURL}`);
    await launchBrowser(g);
  }, { timeout: INDEX_TIMEOUT_MS + 120_000 });

  after(async () => {
    await cleanup(g);
  }, { timeout: 90_000 });

  test('/setup creates the first admin, signs in, and is gone afterwards', { timeout: 120_000 }, async () => {
    const { page, problems } = await newPage(g);
    assert.equal((await page.goto('/setup')).status(), 200);
    await page.fill('input[name=username]', ADMIN);
    await page.fill('input[name=password]', ADMIN_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button[type=submit]')]);
    await page.waitForSelector('#timeline.js a.tile img');
    assert.equal(await page.locator('header form[action="/logout"] button').count(), 1, 'a "Sign out" button in the header');
    await loadAll(page, 'a.tile img');
    await signOut(page);
    await atLogin(page, 'after signing out of the new account');
    assert.equal((await g.context.request.get('/setup')).status(), 404, '/setup once an account exists');
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('the sign-in page fits a desktop and a 390 px phone', { timeout: 60_000 }, async () => {
    const { page, problems } = await newPage(g);
    await page.goto('/');
    await atLogin(page, '/ signed out');
    await page.screenshot({ path: path.join(shots, 'login.png'), fullPage: true });
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
    const ctx = await phoneContext(g);
    try {
      const phone = await ctx.newPage();
      const phoneProblems = watch(phone);
      await phone.goto('/');
      await atLogin(phone, '/ signed out, on a phone');
      await checkFits(phone, 'sign-in page');
      await phone.screenshot({ path: path.join(shots, 'phone-login.png'), fullPage: true });
      assert.deepEqual(phoneProblems, [], 'no console errors or failed requests');
    } finally {
      await ctx.close();
    }
  });

  test('a wrong password shows a clear error and stays signed out', { timeout: 60_000 }, async () => {
    const page = await g.context.newPage();
    const problems = watch(page);
    await page.goto('/');
    await atLogin(page, '/ signed out');
    await page.fill('input[name=username]', ADMIN);
    await page.fill('input[name=password]', 'not the password at all');
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login'),
      page.click('form[action="/login"] button[type=submit]'),
    ]);
    assert.equal(res.status(), 401, 'a wrong password answers 401');
    await page.waitForLoadState();
    const alert = page.locator('[role=alert]');
    assert.equal((await alert.textContent()).trim(), 'Wrong name or password.');
    assert.ok(await alert.isVisible(), 'the error is visible');
    assert.equal(await page.inputValue('input[name=username]'), ADMIN, 'the name is kept');
    assert.equal(await page.inputValue('input[name=password]'), '', 'the password is not sent back');
    await page.screenshot({ path: path.join(shots, 'login-wrong.png'), fullPage: true });
    const cookies = (await g.context.cookies()).map((c) => c.name);
    assert.ok(!cookies.some((n) => /session|media/.test(n)), `no session cookie: ${cookies}`);
    await page.goto('/');
    await atLogin(page, '/ after a wrong password');
    // The only HTTP error is the 401 of the wrong password itself (which
    // chromium also logs to the console).
    const expected = (p) => /^HTTP 401: .*\/login$/.test(p) || p === 'console: Failed to load resource: the server responded with a status of 401 (Unauthorized)';
    assert.equal(problems.filter((p) => p.startsWith('HTTP 401')).length, 1, `one 401: ${problems}`);
    assert.deepEqual(problems.filter((p) => !expected(p)), [], 'no other errors');
    await page.close();
  });

  test('the right password signs in, browses, signs out; the old media link is refused', { timeout: 180_000 }, async () => {
    const { page, problems } = await newPage(g);
    await page.goto('/stats');
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(new URL(page.url()).searchParams.get('next'), '/stats', 'the sign-in page remembers where to go');
    await page.goto('/');
    await page.fill('input[name=username]', ADMIN);
    await page.fill('input[name=password]', ADMIN_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('form[action="/login"] button[type=submit]')]);
    await page.waitForSelector('#timeline.js a.tile img');
    await loadAll(page, 'a.tile img');
    const tiles = await images(page, 'a.tile img');
    assert.equal(tiles.length, g.photos, 'every photo on the gallery');
    for (const i of tiles) assert.ok(i.decoded, `${i.alt} (${i.src}) decoded (naturalWidth > 0)`);
    await page.screenshot({ path: path.join(shots, 'signed-in-gallery.png'), fullPage: true });

    await page.waitForSelector('#timeline.js a.tile');
    const first = page.locator('a.tile').first();
    const href = await first.getAttribute('href');
    await first.click();
    await page.waitForURL((u) => u.pathname === href);
    await waitImagesDecoded(page, 'img.preview', 30_000);
    const thumb = `/thumbnail/${href.split('/').pop()}?v=1`;
    const preview = new URL(await page.getAttribute('img.preview', 'src'), g.server.baseURL).pathname;
    assert.equal((await g.context.request.get(thumb)).status(), 200, `${thumb} signed in`);
    const signedInCookies = await g.context.cookies();
    assert.ok(signedInCookies.some((c) => c.name === 'shoebox_media' && c.httpOnly), 'an HttpOnly media grant');
    // Signed in on a phone: the header with "Account" and "Sign out" still fits.
    const phoneCtx = await phoneContext(g);
    try {
      await phoneCtx.addCookies(signedInCookies);
      const phone = await phoneCtx.newPage();
      const phoneProblems = watch(phone);
      await phone.goto('/');
      assert.equal(new URL(phone.url()).pathname, '/', 'signed in on the phone too');
      await checkFits(phone, 'signed-in gallery');
      await phone.locator('header details.more summary').click(); // "Sign out" is under "More" on a phone
      await phone.waitForSelector('header form[action="/logout"] button');
      await checkFits(phone, 'signed-in gallery, its "More" menu open');
      await loadAll(phone, 'a.tile img');
      await phone.screenshot({ path: path.join(shots, 'phone-signed-in.png') });
      assert.deepEqual(phoneProblems, [], 'no console errors or failed requests on the phone');
    } finally {
      await phoneCtx.close();
    }

    await signOut(page);
    await atLogin(page, 'after "Sign out"');
    await page.goto('/');
    await atLogin(page, '/ after signing out');
    assert.equal((await g.context.request.get(thumb)).status(), 401, `${thumb} after signing out`);
    assert.equal((await g.context.request.get(preview)).status(), 401, `${preview} after signing out`);
    // Cookies copied before signing out (a stolen grant) die with the session.
    const copy = await g.browser.newContext({ baseURL: g.server.baseURL });
    try {
      await copy.addCookies(signedInCookies);
      const deadline = Date.now() + 10_000;
      let st;
      while ((st = (await copy.request.get(thumb)).status()) !== 401 && Date.now() < deadline) await sleep(100);
      assert.equal(st, 401, `${thumb} with the signed-out session's copied cookies`);
      assert.equal((await copy.request.get('/api/stats')).status(), 401, '/api/stats with the copied cookies');
    } finally {
      await copy.close();
    }
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('server stops on SIGTERM and leaves no postgres behind', { timeout: 90_000 }, async () => {
    await stopsCleanly(g);
  });
});

// ---------------------------------------------------------------- timeline

// The timeline's library: noise JPEGs made by vips (no EXIF date, so each
// is taken at its file time, set here), of several shapes, over three
// months: more than a page, days with several rows.
const TIMELINE_DAYS = [
  ['2019-06-28', 45], ['2019-06-27', 30], ['2019-06-03', 25],
  ['2019-05-20', 40], ['2018-12-24', 20],
];
const TIMELINE_PHOTOS = TIMELINE_DAYS.reduce((n, [, k]) => n + k, 0);
const SHAPES = [[320, 240], [240, 320], [300, 300], [400, 200], [360, 240], [200, 300]];

function makeTimelineLibrary(g) {
  g.tmp = makeTmp('shoebox-e2e-timeline-');
  g.library = path.join(g.tmp, 'library');
  g.dataDir = path.join(g.tmp, 'data4');
  fs.mkdirSync(g.library, { mode: 0o755 });
  fs.mkdirSync(g.dataDir, { mode: 0o755 });
  let i = 0;
  for (const [day, count] of TIMELINE_DAYS) {
    for (let k = 0; k < count; k++, i++) {
      const [w, h] = SHAPES[(i * i + 3 * i + Math.floor(i / 5)) % SHAPES.length];
      const file = path.join(g.library, `tl_${String(i).padStart(3, '0')}.jpg`);
      const r = spawnSync('vips', ['gaussnoise', file, String(w), String(h), '--mean', String(60 + (i % 8) * 20), '--sigma', '40'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `vips gaussnoise: ${r.stderr}`);
      const t = new Date(`${day}T08:00:00Z`).getTime() / 1000 + k * 60; // minutes apart, the same UTC day
      fs.utimesSync(file, t, t);
    }
  }
}

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

// firstShown is the first tile on screen under the sticky header.
const firstShown = (page) => page.evaluate(() => {
  const below = document.querySelector('header').getBoundingClientRect().bottom;
  const tiles = [...document.querySelectorAll('a.tile')].filter((a) => a.getBoundingClientRect().bottom > below + 4);
  tiles.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top || a.getBoundingClientRect().left - b.getBoundingClientRect().left);
  return tiles[0]?.dataset.id;
});

// rowsOf describes the laid-out rows: width, tile heights, and whether a
// heading (or nothing) follows (a day's last row).
const rowsOf = (page) => page.$$eval('#timeline .tl-row', (rows) => rows.map((r) => {
  const t = [...r.querySelectorAll('a.tile')].map((a) => a.getBoundingClientRect());
  const next = [...r.parentElement.children].filter((x) => x !== r && parseFloat(x.style.top) > parseFloat(r.style.top))
    .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))[0];
  return {
    width: t[t.length - 1].right - t[0].left, left: t[0].left, heights: t.map((b) => b.height),
    last: !next || next.tagName !== 'DIV', full: r.parentElement.clientWidth,
  };
}));

describe('timeline', only('timeline'), () => {
  const g = timeline;

  before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    makeTimelineLibrary(g);
    g.server = newServer('timeline', g.dataDir);
    const stats = await startServer(g.server, {
      library: g.library, dataDir: g.dataDir, readyTimeoutMs: INDEX_TIMEOUT_MS,
      ready: (s) => (s.queue?.pending === 0 && s.photos >= TIMELINE_PHOTOS ? s : false),
    });
    console.log(`# indexed ${stats.photos} photos at ${g.server.baseURL}`);
    // Every photo, newest first, with its day: what each test expects.
    g.list = (await getJSON(g.server, '/api/photos?limit=500')).photos;
    assert.equal(g.list.length, TIMELINE_PHOTOS);
    g.dayOf = new Map(g.list.map((p) => [p.id, p.taken_at.slice(0, 10)]));
    await launchBrowser(g);
  }, { timeout: INDEX_TIMEOUT_MS + 120_000 });

  after(async () => {
    await cleanup(g);
  }, { timeout: 90_000 });

  test('/api/timeline counts the photos of each month, newest first', { timeout: 30_000 }, async () => {
    const t = await getJSON(g.server, '/api/timeline');
    assert.deepEqual(t, { months: [{ year: 2019, month: 6, count: 100 }, { year: 2019, month: 5, count: 40 }, { year: 2018, month: 12, count: 20 }] });
  });

  test('month and day headings over justified rows; scrolling loads the older pages, windowed', { timeout: 180_000 }, async () => {
    const { page, problems } = await newPage(g);
    const fetched = [];
    page.on('request', (r) => { if (r.url().includes('/api/photos?')) fetched.push(r.url()); });
    await page.goto('/');
    await page.waitForSelector('#timeline.js a.tile img');
    assert.equal(await page.locator('h2.tl-month').first().textContent(), 'June 2019');
    assert.equal(await page.locator('h3.tl-day').first().textContent(), 'Friday 28 June');
    assert.equal(await page.locator('nav.pager a[rel=next]').isVisible(), false, 'the pager gives way to scrolling');
    const first = await page.$$eval('a.tile', (as) => as.slice(0, 3).map((a) => a.dataset.id));
    assert.deepEqual(first, g.list.slice(0, 3).map((p) => p.id), 'newest first');

    // Justified: every row but a day's last is the full width (within a
    // pixel or two) and all its tiles the same height; a day's last row is
    // no wider and not taller than a full row would be.
    const rows = await rowsOf(page);
    const full = rows.filter((r) => !r.last);
    assert.ok(full.length >= 4, `several full rows: ${JSON.stringify(rows.slice(0, 6))}`);
    for (const r of rows) {
      assert.ok(Math.max(...r.heights) - Math.min(...r.heights) < 0.5, `a row's tiles share a height: ${r.heights}`);
      if (r.last) assert.ok(r.width <= r.full + 1, `a day's last row stays inside: ${r.width} of ${r.full}`);
      else assert.ok(Math.abs(r.width - r.full) <= 2, `a full row spans the width: ${r.width.toFixed(1)} of ${r.full}`);
    }
    assert.ok(rows.some((r) => r.last && r.width < r.full - 50), 'some day ends with a short row, not stretched');
    await page.screenshot({ path: path.join(shots, 'timeline.png') });

    // Scroll to the end: the older pages come from /api/photos, the
    // oldest photo shows, and the page holds only the rows near the screen.
    const oldest = g.list[g.list.length - 1].id;
    let most = 0;
    const seen = new Set();
    for (let i = 0; i < 80; i++) {
      const ids = await page.$$eval('a.tile', (as) => as.map((a) => a.dataset.id));
      for (const id of ids) seen.add(id);
      most = Math.max(most, ids.length);
      if (ids.includes(oldest)) break;
      await page.evaluate(() => window.scrollBy(0, window.innerHeight * 0.9));
      await sleep(150);
    }
    assert.equal(await page.locator(`a.tile[data-id="${oldest}"]`).count(), 1, 'the oldest photo shows at the end');
    assert.ok(fetched.length >= 1, 'the next page was fetched from /api/photos');
    assert.ok(most < TIMELINE_PHOTOS, `at most ${most} tiles in the page at once, of ${TIMELINE_PHOTOS}`);
    // Nothing skipped on the way (a page added below must not push the
    // reader past photos they have not seen).
    const missed = g.list.filter((p) => !seen.has(p.id)).map((p) => p.taken_at);
    assert.deepEqual(missed, [], 'every photo passed on screen while scrolling down');
    const months = await page.$$eval('h2.tl-month', (hs) => hs.map((h) => h.textContent));
    assert.ok(months.includes('December 2018'), `the last month's heading: ${months}`);
    assert.equal(await page.locator('a.tile').first().evaluate((a) => a.closest('.tl-row') !== null), true);
    await page.screenshot({ path: path.join(shots, 'timeline-end.png') });
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('the scrubber jumps to a month: the first photo shown is of it', { timeout: 120_000 }, async () => {
    const { page, problems } = await newPage(g);
    await page.goto('/');
    await page.waitForSelector('#timeline.js a.tile img');
    const strip = page.locator('nav.scrubber');
    assert.deepEqual(await strip.locator('a.m').evaluateAll((as) => as.map((a) => a.dataset.month)), ['2019-06', '2019-05', '2018-12']);
    assert.equal(await strip.locator('a.m[data-month="2019-06"]').getAttribute('aria-current'), 'true', 'the month on screen is marked');
    for (const m of ['2018-12', '2019-05']) {
      await strip.locator(`a.m[data-month="${m}"]`).click();
      await page.waitForFunction((m) => document.querySelector(`nav.scrubber a.m[data-month="${m}"]`)?.getAttribute('aria-current') === 'true', m);
      await sleep(800); // a smooth scroll settles
      const id = await firstShown(page);
      assert.equal(g.dayOf.get(id)?.slice(0, 7), m, `after choosing ${m} the first photo shown is ${id} of ${g.dayOf.get(id)}`);
    }
    await page.screenshot({ path: path.join(shots, 'timeline-scrubbed.png') });
    // By keyboard: the scrubber's months and the tiles are links in the tab order.
    await page.goto('/');
    await page.waitForSelector('#timeline.js a.tile img');
    let tile = false;
    for (let i = 0; i < 60 && !tile; i++) {
      await page.keyboard.press('Tab');
      tile = await page.evaluate(() => document.activeElement?.matches('a.tile[data-id]'));
    }
    assert.ok(tile, 'Tab reaches a photo');
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('?at=YYYY-MM lists from that month; a bad value is a 400', { timeout: 60_000 }, async () => {
    const { page, problems } = await newPage(g);
    await page.goto('/?at=2019-05');
    await page.waitForSelector('#timeline.js a.tile img');
    assert.equal(await page.locator('h2.tl-month').first().textContent(), 'May 2019');
    assert.equal(g.dayOf.get(await firstShown(page)), '2019-05-20');
    assert.equal(await page.locator('nav.newer a[href="/"]').count(), 1, 'a way back to the newest photos');
    await page.close();
    assert.deepEqual(problems, []);
    for (const bad of ['2019-13', '2019-6', '19-06', '2019-06-01', 'june']) {
      const res = await fetch(`${g.server.baseURL}/?at=${bad}`);
      assert.equal(res.status, 400, `/?at=${bad}`);
    }
  });

  test('without script: headings, tiles and the pager link page through', { timeout: 90_000 }, async () => {
    const ctx = await g.browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: g.server.baseURL, javaScriptEnabled: false });
    try {
      const page = await ctx.newPage();
      const problems = watch(page);
      await page.goto('/');
      assert.deepEqual(await page.$$eval('h2.tl-month', (hs) => hs.map((h) => h.textContent)), ['June 2019']);
      assert.deepEqual(await page.$$eval('h3.tl-day', (hs) => hs.map((h) => h.textContent)), ['Friday 28 June', 'Thursday 27 June']);
      const ids = await page.$$eval('a.tile', (as) => as.map((a) => a.dataset.id));
      assert.deepEqual(ids, g.list.slice(0, PAGE_SIZE).map((p) => p.id));
      await page.screenshot({ path: path.join(shots, 'timeline-nojs.png') });
      await page.click('nav.pager a[rel=next]');
      await page.waitForURL((u) => u.searchParams.has('cursor'));
      const ids2 = await page.$$eval('a.tile', (as) => as.map((a) => a.dataset.id));
      assert.deepEqual(ids2, g.list.slice(PAGE_SIZE, 2 * PAGE_SIZE).map((p) => p.id), 'the second page');
      assert.equal(await page.locator('h2.tl-month').first().textContent(), 'June 2019');
      await page.goto('/?at=2018-12');
      assert.equal(g.dayOf.get(await page.locator('a.tile').first().getAttribute('data-id')), '2018-12-24');
      await page.locator('nav.scrubber a.m[data-month="2019-05"]').click();
      await page.waitForURL((u) => u.searchParams.get('at') === '2019-05');
      assert.equal(g.dayOf.get(await page.locator('a.tile').first().getAttribute('data-id')), '2019-05-20', 'the scrubber works as links');
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
    }
  });

  test('on a 390 px phone: rows fit, the scrubber is a bar along the bottom', { timeout: 120_000 }, async () => {
    const ctx = await phoneContext(g);
    try {
      const page = await ctx.newPage();
      const problems = watch(page);
      await page.goto('/');
      await page.waitForSelector('#timeline.js a.tile img');
      await waitImagesDecoded(page, '#timeline a.tile img', 30_000);
      await checkFits(page, 'timeline');
      for (const r of (await rowsOf(page)).filter((r) => !r.last)) {
        assert.ok(Math.abs(r.width - r.full) <= 2, `a full row spans the phone's width: ${r.width.toFixed(1)} of ${r.full}`);
      }
      const bar = await page.locator('nav.scrubber').boundingBox();
      assert.ok(bar && bar.width <= PHONE.width + 0.5 && bar.y + bar.height <= PHONE.height + 0.5 && bar.y > PHONE.height / 2,
        `the scrubber along the bottom: ${JSON.stringify(bar)}`);
      const link = await page.locator('nav.scrubber a.m').first().boundingBox();
      assert.ok(link.height >= TOUCH_PX, `scrubber links are touch-sized: ${link.height}`);
      await page.screenshot({ path: path.join(shots, 'phone-timeline.png') });
      await page.locator('nav.scrubber a.m[data-month="2018-12"]').click();
      await page.waitForFunction(() => document.querySelector('nav.scrubber a.m[data-month="2018-12"]')?.getAttribute('aria-current') === 'true');
      await sleep(800);
      assert.equal(g.dayOf.get(await firstShown(page))?.slice(0, 7), '2018-12', 'the phone scrubber jumps too');
      await page.screenshot({ path: path.join(shots, 'phone-timeline-scrubbed.png') });
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
    }
  });

  test('server stops on SIGTERM and leaves no postgres behind', { timeout: 90_000 }, async () => {
    await stopsCleanly(g);
  });
});

// ---------------------------------------------------------------- select

// The selection's library: noise JPEGs over three days, more than the
// timeline keeps in the page at once (so tiles leave it while scrolling).
const SELECT_DAYS = [['2021-03-14', 50], ['2021-03-02', 40], ['2021-01-20', 40]];
const SELECT_PHOTOS = SELECT_DAYS.reduce((n, [, k]) => n + k, 0);

function makeSelectLibrary(g) {
  g.tmp = makeTmp('shoebox-e2e-select-');
  g.library = path.join(g.tmp, 'library');
  g.dataDir = path.join(g.tmp, 'data5');
  fs.mkdirSync(g.library, { mode: 0o755 });
  fs.mkdirSync(g.dataDir, { mode: 0o755 });
  let i = 0;
  for (const [day, count] of SELECT_DAYS) {
    for (let k = 0; k < count; k++, i++) {
      const [w, h] = SHAPES[(i * 7 + 2) % SHAPES.length];
      const file = path.join(g.library, `sel_${String(i).padStart(3, '0')}.jpg`);
      const r = spawnSync('vips', ['gaussnoise', file, String(w), String(h), '--mean', String(50 + (i % 9) * 20), '--sigma', '30'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `vips gaussnoise: ${r.stderr}`);
      const t = new Date(`${day}T09:00:00Z`).getTime() / 1000 + k * 60;
      fs.utimesSync(file, t, t);
    }
  }
}

// api sends a JSON request to a server (as a script would, not a browser).
async function api(s, method, p, body) {
  const res = await fetch(s.baseURL + p, {
    method, headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${p}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// zipEntries reads the names in a zip's central directory (the end record
// found from the end of the file, then each entry).
function zipEntries(buf) {
  let end = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { end = i; break; }
  }
  assert.ok(end >= 0, `a zip's end record in ${buf.length} bytes`);
  const total = buf.readUInt16LE(end + 10);
  let off = buf.readUInt32LE(end + 16);
  const names = [];
  for (let k = 0; k < total; k++) {
    assert.equal(buf.readUInt32LE(off), 0x02014b50, `central directory entry ${k}`);
    const n = buf.readUInt16LE(off + 28);
    names.push(buf.toString('utf8', off + 46, off + 46 + n));
    off += 46 + n + buf.readUInt16LE(off + 30) + buf.readUInt16LE(off + 32);
  }
  return names;
}

const tile = (page, id) => page.locator(`a.tile[data-id="${id}"]`).first();
const selectedIDs = (page) => page.$$eval('a.tile.sel', (as) => [...new Set(as.map((a) => a.dataset.id))]);
const sorted = (a) => [...a].sort();

// reach scrolls the timeline until a photo's tile is in the page.
async function reach(page, id) {
  for (let i = 0; i < 80 && (await page.locator(`a.tile[data-id="${id}"]`).count()) === 0; i++) {
    await page.evaluate(() => window.scrollBy(0, window.innerHeight * 0.8));
    await sleep(150);
  }
}

// tick clicks a tile's check (shown on hover), with shift for a range.
async function tick(page, id, shift = false) {
  await reach(page, id);
  const t = tile(page, id);
  await t.scrollIntoViewIfNeeded();
  await t.hover();
  await t.locator('.check').click({ modifiers: shift ? ['Shift'] : [] });
}

async function selectedCount(page, n) {
  await page.waitForFunction((n) => (n === 0 ? document.querySelector('.selbar').hidden
    : document.querySelector('.selbar .count')?.textContent === `${n} selected`), n, { timeout: 10_000 });
}

async function said(page, re) {
  await page.waitForFunction((src) => new RegExp(src).test(document.querySelector('.toast[role=status]')?.textContent ?? ''), re.source, { timeout: 15_000 });
}

async function timelineReady(page, url = '/') {
  await page.goto(url);
  await page.waitForSelector('#timeline.js a.tile .check');
}

describe('select and lightbox', only('select'), () => {
  const g = select;
  let list; // every photo, newest first (the timeline's order)
  const photo = (id) => getJSON(g.server, `/api/photos/${id}`);

  before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    makeSelectLibrary(g);
    g.server = newServer('select', g.dataDir);
    const stats = await startServer(g.server, {
      library: g.library, dataDir: g.dataDir, readyTimeoutMs: INDEX_TIMEOUT_MS,
      ready: (s) => (s.queue?.pending === 0 && s.photos >= SELECT_PHOTOS ? s : false),
    });
    console.log(`# indexed ${stats.photos} photos at ${g.server.baseURL}`);
    list = (await getJSON(g.server, '/api/photos?limit=500')).photos.map((p) => p.id);
    assert.equal(list.length, SELECT_PHOTOS);
    g.browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    g.context = await g.browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: g.server.baseURL, acceptDownloads: true });
  }, { timeout: INDEX_TIMEOUT_MS + 120_000 });

  after(async () => {
    await cleanup(g);
  }, { timeout: 90_000 });

  test('select by click, shift-click and keys; the selection outlives the timeline\'s windowing', { timeout: 180_000 }, async () => {
    const { page, problems } = await newPage(g);
    await timelineReady(page);
    assert.equal(await page.locator('.selbar').isVisible(), false, 'no bar before a selection');
    await tick(page, list[0]);
    await selectedCount(page, 1);
    assert.equal(await tile(page, list[0]).evaluate((a) => a.classList.contains('sel')), true);
    // With a selection, a click on a tile toggles it instead of opening it.
    await tile(page, list[2]).click();
    await selectedCount(page, 2);
    assert.equal(new URL(page.url()).pathname, '/', 'the click did not open the photo');
    await tile(page, list[2]).click();
    await selectedCount(page, 1);
    // Shift: the range from the last one toggled (the third), in list order.
    await tick(page, list[4], true);
    await selectedCount(page, 4);
    assert.deepEqual(sorted(await selectedIDs(page)), sorted([list[0], ...list.slice(2, 5)]));
    await page.screenshot({ path: path.join(shots, 'select-timeline.png') });
    await page.keyboard.press('Escape');
    await selectedCount(page, 0);
    assert.deepEqual(await selectedIDs(page), [], 'Esc clears');

    // Keys: x on a focused tile, Shift+x for a range, Space toggles.
    await tile(page, list[1]).focus();
    await page.keyboard.press('x');
    await selectedCount(page, 1);
    await tile(page, list[6]).focus();
    await page.keyboard.press('Shift+X');
    await selectedCount(page, 6);
    await page.keyboard.press(' ');
    await selectedCount(page, 5);
    assert.deepEqual(sorted(await selectedIDs(page)), sorted(list.slice(1, 6)));
    assert.equal(new URL(page.url()).pathname, '/');

    // Far down (the first tiles have left the page), shift-click: the range
    // runs through photos not in the page, from the timeline's list.
    const far = list[110];
    await reach(page, far);
    await tile(page, far).scrollIntoViewIfNeeded();
    await sleep(300);
    assert.equal(await page.locator(`a.tile[data-id="${list[1]}"]`).count(), 0, 'the first tiles left the page');
    await tile(page, far).click({ modifiers: ['Shift'] });
    await selectedCount(page, 110);
    assert.equal(await tile(page, list[100]).evaluate((a) => a.classList.contains('sel')), true);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForSelector(`a.tile[data-id="${list[1]}"].sel`);
    assert.equal(await tile(page, list[0]).evaluate((a) => a.classList.contains('sel')), false, 'the first photo was never selected');
    await page.locator('.selbar button.clear').click();
    await selectedCount(page, 0);
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('favourite, archive, trash and restore from the bar; the API agrees', { timeout: 180_000 }, async () => {
    const { page, problems } = await newPage(g);
    await timelineReady(page);
    await tick(page, list[0]);
    await tick(page, list[1]);
    await selectedCount(page, 2);
    await page.locator('.selbar button.favorite').click();
    await said(page, /Added 2 photos to favourites/);
    await selectedCount(page, 0);
    for (const id of list.slice(0, 2)) {
      assert.equal((await photo(id)).favorite, true, `${id} is a favourite`);
      await page.waitForSelector(`a.tile[data-id="${id}"] .fav`);
    }

    await tick(page, list[2]);
    await tick(page, list[3]);
    await page.locator('.selbar button.archive').click();
    await said(page, /Archived 2 photos/);
    for (const id of list.slice(2, 4)) {
      assert.equal(await page.locator(`a.tile[data-id="${id}"]`).count(), 0, `${id} left the timeline`);
      assert.equal((await photo(id)).archived, true, `${id} is archived`);
    }
    await tick(page, list[4]);
    await page.locator('.selbar button.trash').click();
    await said(page, /Moved 1 photo to the trash/);
    assert.equal(await page.locator(`a.tile[data-id="${list[4]}"]`).count(), 0);
    assert.equal((await photo(list[4])).trashed, true);
    const shown = (await getJSON(g.server, '/api/photos?limit=500')).photos.map((p) => p.id);
    assert.deepEqual(shown, list.filter((id) => !list.slice(2, 5).includes(id)), 'the archived and trashed photos are out of the list');

    // The Trash page: its checkboxes select; the bar restores.
    await page.goto('/trash');
    await page.locator(`label.pick input[value="${list[4]}"]`).click();
    await selectedCount(page, 1);
    assert.equal(await page.locator('.selbar button.favorite').count(), 0, 'no favourite in the trash');
    await page.screenshot({ path: path.join(shots, 'select-trash.png') });
    await page.locator('.selbar button.restore').click();
    await said(page, /Restored 1 photo/);
    assert.equal(await page.locator(`a.tile[data-id="${list[4]}"]`).count(), 0);
    assert.equal((await photo(list[4])).trashed, false);

    // The Archive page unarchives.
    await page.goto('/archive');
    await tick(page, list[2]);
    assert.match(await page.locator('.selbar button.archive').textContent(), /Unarchive/);
    await page.locator('.selbar button.archive').click();
    await said(page, /Unarchived 1 photo/);
    assert.equal((await photo(list[2])).archived, false);
    await api(g.server, 'PATCH', '/api/photos', { ids: [list[3]], archived: false });

    // Favourites: both marked, so the button takes them off.
    await page.goto('/favorites');
    await tick(page, list[0]);
    await tick(page, list[1], true);
    await selectedCount(page, 2);
    assert.match(await page.locator('.selbar button.favorite').textContent(), /Unfavourite/);
    await page.locator('.selbar button.favorite').click();
    await said(page, /Removed 2 photos from favourites/);
    assert.equal(await page.locator('a.tile').count(), 0, 'the Favourites page emptied');
    for (const id of list.slice(0, 2)) assert.equal((await photo(id)).favorite, false);
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('add to an album, share a link a fresh visitor opens, download a zip', { timeout: 180_000 }, async () => {
    const trip = (await api(g.server, 'POST', '/api/albums', { name: 'Trip to the coast' })).id;
    g.trip = trip;
    const { page, problems } = await newPage(g);
    await timelineReady(page);
    await tick(page, list[7]);
    await tick(page, list[9], true);
    await selectedCount(page, 3);
    await page.locator('.selbar button.album').click();
    await page.locator(`.selbar .panel button[data-album="${trip}"]`).click();
    await said(page, /Added 3 photos to “Trip to the coast”/);
    const inAlbum = (await getJSON(g.server, `/api/albums/${trip}`)).photos.map((p) => p.id);
    assert.deepEqual(sorted(inAlbum), sorted(list.slice(7, 10)));

    // Share: the link shows a visitor exactly the selection.
    const chosen = [list[12], list[13], list[20], list[60]];
    for (const id of chosen) await tick(page, id);
    await selectedCount(page, 4);
    await page.locator('.selbar button.share').click();
    await page.locator('.selbar .shareopts input[name=allow_download]').check();
    await page.locator('.selbar .shareopts button[type=submit]').click();
    const url = await page.locator('.selbar input.shareurl').inputValue();
    assert.match(url, /^http:\/\/[^/]+\/s\/[A-Za-z0-9_-]{20,}$/);
    await page.screenshot({ path: path.join(shots, 'select-share.png') });
    const visitor = await g.browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const v = await visitor.newPage();
      const vProblems = watch(v);
      await v.goto(url);
      const ids = await v.$$eval('a.tile[data-id]', (as) => as.map((a) => a.dataset.id));
      assert.deepEqual(sorted(ids), sorted(chosen), 'the visitor sees exactly the selection');
      assert.equal(await v.locator('.check').count(), 0, 'a visitor selects nothing');
      // The visitor's lightbox: → is the next photo of the link, Esc the link's page.
      await v.locator('a.tile').first().click();
      await v.waitForURL((u) => u.pathname === `/s/${url.split('/s/')[1]}/p/${ids[0]}`);
      await v.keyboard.press('ArrowRight');
      await v.waitForURL((u) => u.pathname.endsWith(`/p/${ids[1]}`));
      await v.screenshot({ path: path.join(shots, 'lightbox-share.png') });
      await v.keyboard.press('Escape');
      await v.waitForURL((u) => u.pathname === new URL(url).pathname);
      assert.deepEqual(vProblems, [], 'no errors for the visitor');
    } finally {
      await visitor.close();
    }
    await page.locator('.selbar button.clear').click();

    // Download: a zip of exactly the selection.
    for (const id of [list[30], list[31], list[32]]) await tick(page, id);
    await selectedCount(page, 3);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('.selbar button.download').click()]);
    const file = await dl.path();
    const names = zipEntries(fs.readFileSync(file));
    const want = await Promise.all([list[30], list[31], list[32]].map(async (id) => path.basename((await photo(id)).path)));
    assert.deepEqual(sorted(names), sorted(want), 'the zip holds the selected photos');
    assert.match(dl.suggestedFilename(), /^shoebox-\d{4}-\d\d-\d\d\.zip$/);
    // (A form post answered by a download is a navigation the browser
    // drops as it saves the file: "aborted", as every download is.)
    assert.deepEqual(problems.filter((p) => !/\/download net::ERR_ABORTED$/.test(p)), [], 'no console errors or failed requests');
    await page.close();
  });

  test('lightbox: arrows, Esc back to where the list was, f, ?, the next preview fetched ahead', { timeout: 180_000 }, async () => {
    const { page, problems } = await newPage(g);
    await timelineReady(page);
    await page.evaluate(() => window.scrollTo(0, 420));
    await sleep(300);
    const id = await firstShown(page);
    const k = list.indexOf(id);
    assert.ok(k > 0 && k < list.length - 1, `a tile in the middle: ${k}`);
    const before = await page.evaluate(() => window.scrollY);
    const ahead = page.waitForRequest((r) => new URL(r.url()).pathname === `/preview/${list[k + 1]}`);
    await tile(page, id).click();
    await page.waitForURL((u) => u.pathname === `/photo/${id}`);
    await ahead; // the next preview was asked for before it is shown
    await page.waitForSelector('.photo .stage a.lb-next');
    await page.keyboard.press('ArrowRight');
    await page.waitForURL((u) => u.pathname === `/photo/${list[k + 1]}`);
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL((u) => u.pathname === `/photo/${id}`);
    await page.waitForSelector('.photo .stage a.lb-prev');

    // f marks a favourite (the page changes in place), ? lists the keys.
    await page.keyboard.press('f');
    await page.waitForSelector('form.state button[name=favorite][aria-pressed=true]');
    assert.equal((await photo(id)).favorite, true, 'f made it a favourite');
    await page.keyboard.press('?');
    await page.waitForSelector('dialog.keys[open]');
    assert.match(await page.locator('dialog.keys').textContent(), /Esc.*back to the list.*Delete.*trash/s);
    await page.screenshot({ path: path.join(shots, 'lightbox-keys.png') });
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog.keys:not([open])', { state: 'attached' });
    assert.equal(new URL(page.url()).pathname, `/photo/${id}`, 'Esc closed the list of keys only');
    await page.screenshot({ path: path.join(shots, 'lightbox.png') });

    // Esc: back to the list, where it was, the star on the tile.
    await page.keyboard.press('Escape');
    await page.waitForURL((u) => u.pathname === '/');
    await page.waitForSelector(`a.tile[data-id="${id}"] .fav`);
    const after = await page.evaluate(() => window.scrollY);
    assert.ok(Math.abs(after - before) <= 2, `back where the list was: ${after} (was ${before})`);

    // The arrows are links too.
    await tile(page, id).click();
    await page.waitForURL((u) => u.pathname === `/photo/${id}`);
    await page.locator('a.lb-next').click();
    await page.waitForURL((u) => u.pathname === `/photo/${list[k + 1]}`);

    // Opened from an album: its order, no next after its last photo;
    // Delete trashes and moves on.
    const album = (await getJSON(g.server, `/api/albums/${g.trip}`)).photos.map((p) => p.id);
    await page.goto(`/albums/${g.trip}`);
    await tile(page, album[1]).click();
    await page.waitForURL((u) => u.pathname === `/photo/${album[1]}`);
    await page.keyboard.press('ArrowRight');
    await page.waitForURL((u) => u.pathname === `/photo/${album[2]}`);
    await page.waitForSelector('a.lb-prev');
    assert.equal(await page.locator('a.lb-next').count(), 0, 'nothing after the album\'s last photo');
    await page.keyboard.press('Delete');
    await page.waitForURL((u) => u.pathname === `/photo/${album[1]}`);
    assert.equal((await photo(album[2])).trashed, true, 'Delete moved it to the trash');
    await page.keyboard.press('Escape');
    await page.waitForURL((u) => u.pathname === `/albums/${g.trip}`);
    await page.waitForFunction((gone) => !document.querySelector(`a.tile[data-id="${gone}"]`), album[2]);
    await api(g.server, 'PATCH', '/api/photos', { ids: [album[2]], trashed: false });

    // Opened directly: no neighbours, Esc to the gallery.
    const direct = await g.context.newPage();
    const dProblems = watch(direct);
    await direct.goto(`/photo/${list[3]}`);
    await direct.waitForSelector('.lb-bar');
    assert.equal(await direct.locator('a.lb-prev, a.lb-next').count(), 0);
    await direct.keyboard.press('Escape');
    await direct.waitForURL((u) => u.pathname === '/');
    assert.deepEqual(dProblems, []);
    await direct.close();
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('on a 390 px phone: a compact header, the bar fits, a swipe turns the photo', { timeout: 180_000 }, async () => {
    const ctx = await phoneContext(g);
    try {
      const page = await ctx.newPage();
      const problems = watch(page);
      await timelineReady(page);
      await checkFits(page, 'timeline');
      const header = await page.locator('header').boundingBox();
      assert.ok(header.height <= 2 * TOUCH_PX + 30, `the header takes two lines at most: ${header.height} px`);
      await page.locator('header details.more summary').click();
      await page.waitForSelector('header details.more[open] a[href="/trash"]');
      await checkFits(page, 'timeline, the "More" menu open');
      await page.screenshot({ path: path.join(shots, 'select-phone-menu.png') });
      await page.locator('header details.more summary').click();

      await tile(page, list[0]).locator('.check').tap();
      await selectedCount(page, 1);
      await tile(page, list[1]).tap();
      await selectedCount(page, 2);
      await checkFits(page, 'timeline with a selection');
      const buttons = await page.$$eval('.selbar button', (bs) => bs.map((b) => {
        const r = b.getBoundingClientRect();
        return { t: b.textContent, w: r.width, h: r.height, l: r.left, r: r.right, b: r.bottom };
      }));
      assert.equal(buttons.length, 7);
      for (const b of buttons) {
        assert.ok(b.w >= TOUCH_PX && b.h >= TOUCH_PX && b.l >= 0 && b.r <= PHONE.width && b.b <= PHONE.height, `a touch-sized button on screen: ${JSON.stringify(b)}`);
      }
      await page.screenshot({ path: path.join(shots, 'select-phone.png') });
      await page.locator('.selbar button.clear').tap();
      await selectedCount(page, 0);

      await tile(page, list[0]).tap();
      await page.waitForURL((u) => u.pathname === `/photo/${list[0]}`);
      await page.waitForSelector('a.lb-next');
      await checkFits(page, 'the photo page');
      await page.screenshot({ path: path.join(shots, 'lightbox-phone.png') });
      // A swipe to the left: the next photo.
      await page.evaluate(() => {
        const el = document.querySelector('.photo .stage');
        const b = el.getBoundingClientRect();
        const at = (x) => new Touch({ identifier: 1, target: el, clientX: x, clientY: b.top + b.height / 2 });
        el.dispatchEvent(new TouchEvent('touchstart', { touches: [at(b.right - 20)], changedTouches: [at(b.right - 20)], bubbles: true }));
        el.dispatchEvent(new TouchEvent('touchend', { touches: [], changedTouches: [at(b.left + 20)], bubbles: true }));
      });
      await page.waitForURL((u) => u.pathname === `/photo/${list[1]}`);
      assert.deepEqual(problems, [], 'no console errors or failed requests');
    } finally {
      await ctx.close();
    }
  });

  test('server stops on SIGTERM and leaves no postgres behind', { timeout: 90_000 }, async () => {
    await stopsCleanly(g);
  });
});
