// End-to-end test of uploads from the gallery: one shoebox server
// (bin/shoebox, embedded PostgreSQL, no account: the local user, whose
// uploads go to <data>/uploads/local/) and Debian's chromium, driven by
// playwright-core:
//
//   - a photo dropped on the gallery (a drop event carrying a DataTransfer
//     built in the page): its row shows progress, then "uploaded"; the
//     photo is indexed and appears in the timeline after a reload;
//   - an upload cut mid-PATCH (page.route forwards half the chunk to the
//     server, then fails the request as a lost connection): the page asks
//     the offset with HEAD and sends only the rest; the file on disk is
//     byte-identical;
//   - a text file named .jpg picked with the Upload button: refused, with
//     the server's reason on its row, and nothing kept.
//
// Run from the repository root after `make build`:
//
//   node --test e2e/upload.test.mjs        (or: make e2e)
//
// Screenshots land in e2e/screenshots/upload-*.png. SHOEBOX_E2E_KEEP=1
// keeps the temporary folder.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
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

const LIBRARY_SIZE = 2;
const INDEX_TIMEOUT_MS = 3 * 60_000;
const DESKTOP = { width: 1280, height: 800 };
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const later = (ms) => new Promise((r) => setTimeout(r, ms).unref());
const tail = (s, n = 40) => s.trimEnd().split('\n').slice(-n).join('\n');

// The one server's state, shared by the hooks and tests.
const g = { name: 'upload' };

// ---------------------------------------------------------------- library

// makeLibrary copies the KDE wallpapers' small previews (distinct, real
// photos of a few tens of kB: quick to index) into g.tmp/library as
// NAME.jpg.
function makeLibrary() {
  assert.ok(fs.existsSync(corpus), `${corpus} is missing: run scripts/setup.sh --test (make setup-test)`);
  const found = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\/wallpapers\/[^/]+\/contents\/screenshot\.jpg$/.test(p)) found.push(p);
    }
  };
  walk(path.join(corpus, 'deb'));
  const picked = found.sort().slice(0, LIBRARY_SIZE);
  assert.equal(picked.length, LIBRARY_SIZE, `wallpaper previews under ${corpus}/deb: ${found.length}`);
  g.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shoebox-e2e-upload-'));
  fs.chmodSync(g.tmp, 0o755); // the embedded PostgreSQL may run as "postgres"
  g.library = path.join(g.tmp, 'library');
  g.dataDir = path.join(g.tmp, 'data');
  fs.mkdirSync(g.library, { mode: 0o755 });
  fs.mkdirSync(g.dataDir, { mode: 0o755 });
  for (const src of picked) {
    const name = `${path.basename(path.dirname(path.dirname(src)))}.jpg`;
    fs.copyFileSync(src, path.join(g.library, name));
  }
}

// ---------------------------------------------------------------- server

// shoeboxEnv is the environment of every shoebox process: embedded mode,
// no SHOEBOX_* variable from outside.
function shoeboxEnv() {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  for (const k of Object.keys(env)) if (k.startsWith('SHOEBOX_')) delete env[k];
  return env;
}

// startServer runs bin/shoebox serve on 127.0.0.1:0, waits for its address
// and /healthz, then for the library to be indexed.
async function startServer() {
  assert.ok(fs.existsSync(bin), `${bin} is missing: run make build first`);
  const s = { proc: null, exit: null, log: '', baseURL: null, pgData: path.join(g.dataDir, 'pg', 'data') };
  g.server = s;
  s.proc = spawn(bin, ['serve', '--library', g.library, '--data', g.dataDir, '--addr', '127.0.0.1:0'],
    { cwd: repo, env: shoeboxEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
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
    s.exit.then((e) => { throw new Error(`shoebox exited early (${JSON.stringify(e)}):\n${tail(s.log)}`); }),
    later(90_000).then(() => { throw new Error(`shoebox did not start in 90 s:\n${tail(s.log)}`); }),
  ]);
  await waitFor('/healthz', 30_000, async (res) => res.ok);
  // No account yet: /api/stats answers this machine.
  return waitFor('/api/stats', INDEX_TIMEOUT_MS, async (res) => {
    if (!res.ok) return false;
    const st = await res.json();
    return st.queue?.pending === 0 && st.photos >= LIBRARY_SIZE ? st : false;
  });
}

// waitFor polls a path until ok(res) returns something truthy.
async function waitFor(p, timeoutMs, ok) {
  const s = g.server;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) throw new Error(`shoebox exited while waiting for ${p}:\n${tail(s.log)}`);
    try {
      const v = await ok(await fetch(s.baseURL + p, { signal: AbortSignal.timeout(5_000) }));
      if (v) return v;
    } catch (e) {
      last = String(e);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${p} (${last}):\n${tail(s.log)}`);
    await sleep(300);
  }
}

function postgresLeft(pgData) {
  const pids = new Set();
  try {
    const pid = parseInt(fs.readFileSync(path.join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0], 10);
    if (pid > 0 && alive(pid)) pids.add(pid);
  } catch { /* not running */ }
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
  const args = ['stop', '-D', pgData, '-m', 'fast', '-w'];
  const pgctl = bins[0] ?? 'pg_ctl';
  const r = process.getuid?.() === 0
    ? spawnSync('runuser', ['-u', 'postgres', '--', pgctl, ...args], { encoding: 'utf8', cwd: '/' })
    : spawnSync(pgctl, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

// stopServer sends SIGTERM and waits (SIGKILL after 30 s); shoebox stops
// its embedded PostgreSQL on the way out.
async function stopServer() {
  const s = g.server;
  if (!s?.proc) return null;
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return s.exit;
  s.proc.kill('SIGTERM');
  const exit = await Promise.race([s.exit, later(30_000).then(() => null)]);
  if (!exit) {
    s.proc.kill('SIGKILL');
    await s.exit;
  }
  return exit;
}

async function cleanup() {
  if (g.cleanedUp) return;
  g.cleanedUp = true;
  try { await g.browser?.close(); } catch { /* gone */ }
  await stopServer();
  const pgData = g.server?.pgData;
  if (pgData && postgresLeft(pgData).length) console.log(`# postgres still running on ${pgData}; stopping it: ${stopPostgres(pgData)}`);
  if (g.tmp && !process.env.SHOEBOX_E2E_KEEP) fs.rmSync(g.tmp, { recursive: true, force: true });
  else if (g.tmp) console.log(`# kept ${g.tmp}`);
}

for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => { cleanup().finally(() => process.exit(130)); });
process.once('exit', () => {
  const s = g.server;
  if (s?.proc && s.proc.exitCode === null && s.proc.signalCode === null) {
    try { s.proc.kill('SIGKILL'); } catch { /* gone */ }
  }
  if (s?.pgData && postgresLeft(s.pgData).length) stopPostgres(s.pgData);
});

// ---------------------------------------------------------------- browser

// watch collects console errors, uncaught exceptions, failed requests and
// HTTP error answers.
function watch(page) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return problems;
}


// photoID is Shoebox's id of content: the first 15 bytes of its SHA-256,
// base64url (library.PhotoID).
const photoID = (buf) => crypto.createHash('sha256').update(buf).digest().subarray(0, 15).toString('base64url');

// pickUploads are two real photos that are not in the library.
function pickUploads() {
  const found = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\/wallpapers\/[^/]+\/contents\/screenshot\.jpg$/.test(p)) found.push(p);
    }
  };
  walk(path.join(corpus, 'deb'));
  const picked = found.sort().slice(LIBRARY_SIZE, LIBRARY_SIZE + 2);
  assert.equal(picked.length, 2);
  return picked.map((p) => fs.readFileSync(p));
}

// uploadedFiles lists the files under <data>/uploads, by SHA-256.
function uploadedFiles() {
  const out = new Map();
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex'), path.relative(path.join(g.dataDir, 'uploads'), p));
    }
  };
  walk(path.join(g.dataDir, 'uploads'));
  return out;
}

const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

// listed waits until the API lists photo id.
async function listed(id) {
  await waitFor(`/api/photos/${id}`, INDEX_TIMEOUT_MS, async (res) => res.ok);
}

describe('uploads from the gallery', () => {
  before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    makeLibrary();
    const stats = await startServer();
    console.log(`# indexed ${stats.photos} photos at ${g.server.baseURL}`);
    g.uploads = pickUploads();
    g.browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    g.ctx = await g.browser.newContext({ viewport: DESKTOP, baseURL: g.server.baseURL });
  }, { timeout: INDEX_TIMEOUT_MS + 120_000 });

  after(cleanup, { timeout: 90_000 });

  test('a photo dropped on the gallery is uploaded, with progress, and appears', { timeout: 240_000 }, async () => {
    const page = await g.ctx.newPage();
    const problems = watch(page);
    await page.goto('/');
    await page.locator('label.upload-btn').waitFor();
    const buf = g.uploads[0];
    // Record every value the row's progress bar takes.
    await page.evaluate(() => {
      window.progressSeen = [];
      new MutationObserver(() => {
        for (const p of document.querySelectorAll('#uploads progress')) window.progressSeen.push([p.value, p.max]);
      }).observe(document.getElementById('uploads'), { subtree: true, childList: true, attributes: true, characterData: true });
    });
    await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'dropped photo.jpg', { type: 'image/jpeg' }));
      const target = document.querySelector('main');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }
    }, buf.toString('base64'));
    const row = page.locator('#uploads li', { hasText: 'dropped photo.jpg' });
    await row.locator('.state', { hasText: 'uploaded' }).waitFor({ timeout: 60_000 });
    assert.equal(await row.getAttribute('class'), 'done');
    const bar = row.locator('progress');
    assert.deepEqual(await bar.evaluate((p) => [p.value, p.max]), [buf.length, buf.length]);
    const seen = await page.evaluate(() => window.progressSeen);
    assert.ok(seen.length > 0, 'the progress bar was never shown');
    assert.equal(await page.locator('body.dropping').count(), 0, 'the drop highlight stays after the drop');
    await page.screenshot({ path: path.join(shots, 'upload-dropped.png') });
    const id = photoID(buf);
    await listed(id);
    // A reload shows it (the page cache may serve the page of a moment
    // ago for a few seconds: reload until it is in).
    for (let i = 0; ; i++) {
      await page.reload();
      if (await page.locator(`a.tile[data-id="${id}"] img`).count()) break;
      assert.ok(i < 30, 'the uploaded photo never appeared in the timeline');
      await sleep(1000);
    }
    const files = uploadedFiles();
    assert.match(files.get(sha(buf)) ?? '', /^local\/\d{4}\/\d{2}\/dropped photo\.jpg$/, `uploads: ${[...files.values()]}`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('videos dropped on the gallery play on their page (H.264 as it is, VP9 once converted)', { timeout: 300_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-e2e-video-'));
    const make = (name, args) => {
      const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=3',
        '-f', 'lavfi', '-i', 'sine=frequency=440:duration=3', ...args, path.join(dir, name)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `ffmpeg ${name}: ${r.stderr}`);
      return fs.readFileSync(path.join(dir, name));
    };
    const clips = [
      { name: 'clip h264.mp4', type: 'video/mp4', buf: make('clip h264.mp4', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest']) },
      { name: 'clip vp9.webm', type: 'video/webm', buf: make('clip vp9.webm', ['-c:v', 'libvpx-vp9', '-b:v', '300k', '-c:a', 'libopus', '-shortest']) },
    ];
    fs.rmSync(dir, { recursive: true, force: true });
    const page = await g.ctx.newPage();
    const problems = watch(page);
    await page.goto('/');
    await page.locator('label.upload-btn').waitFor();
    await page.evaluate((files) => {
      const dt = new DataTransfer();
      for (const f of files) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
      const target = document.querySelector('main');
      for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, clips.map((c) => ({ name: c.name, type: c.type, b64: c.buf.toString('base64') })));
    for (const c of clips) {
      await page.locator('#uploads li', { hasText: c.name }).locator('.state', { hasText: 'uploaded' }).waitFor({ timeout: 120_000 });
    }
    for (const c of clips) {
      const id = photoID(c.buf);
      const detail = await waitFor(`/api/photos/${id}`, INDEX_TIMEOUT_MS, async (res) => {
        const d = res.ok && (await res.json());
        return d && d.detail.state === 'ready' && d;
      });
      assert.equal(detail.type, 'video', `${c.name}: ${JSON.stringify(detail)}`);
      // The VP9 clip plays once its conversion is made: reload until the
      // video route answers.
      await waitFor(`/video/${id}`, 180_000, async (res) => res.status === 200 || res.status === 206);
      await page.goto(`/photo/${id}`);
      const video = page.locator('video.preview');
      await video.waitFor();
      const played = await video.evaluate(async (v) => {
        v.muted = true;
        await v.play();
        const until = Date.now() + 20_000;
        while ((v.readyState < 2 || v.currentTime <= 0.2) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
        return { readyState: v.readyState, currentTime: v.currentTime, width: v.videoWidth, error: v.error && v.error.code };
      });
      assert.ok(played.readyState >= 2 && played.currentTime > 0.2 && played.width === 320 && !played.error,
        `${c.name} did not play: ${JSON.stringify(played)}`);
      await page.screenshot({ path: path.join(shots, `upload-video-${c.name.includes('vp9') ? 'vp9' : 'h264'}.png`) });
    }
    // A player cancels its own range requests when it seeks or the page
    // moves on to the next video: those are not failures.
    assert.deepEqual(problems.filter((p) => !/^requestfailed: \S+\/video\/\S+ net::ERR_ABORTED$/.test(p)), []);
    await page.close();
  });

  test('an upload cut mid-PATCH resumes from the server\'s offset', { timeout: 240_000 }, async () => {
    const page = await g.ctx.newPage();
    await page.goto('/');
    const buf = g.uploads[1];
    const half = Math.floor(buf.length / 2);
    const patches = [];
    const heads = [];
    await page.route('**/api/uploads/*', async (route) => {
      const req = route.request();
      if (req.method() === 'HEAD') heads.push(req.url());
      if (req.method() !== 'PATCH') return route.continue();
      const body = req.postDataBuffer();
      patches.push({ offset: Number(req.headers()['upload-offset']), bytes: body.length });
      if (patches.length === 1) {
        // The server gets half the chunk; the page, a lost connection.
        const headers = { ...req.headers(), 'content-length': String(half) };
        const res = await route.fetch({ postData: body.subarray(0, half), headers });
        assert.equal(res.status(), 204, `the half PATCH: ${res.status()} ${await res.text()}`);
        return route.abort('connectionreset');
      }
      return route.continue();
    });
    await page.setInputFiles('#upload-input', { name: 'resumed.jpg', mimeType: 'image/jpeg', buffer: buf });
    const row = page.locator('#uploads li', { hasText: 'resumed.jpg' });
    await row.locator('.state', { hasText: 'uploaded' }).waitFor({ timeout: 60_000 });
    assert.ok(heads.length >= 1, 'no HEAD asked where the upload stood');
    assert.equal(patches.length, 2, `PATCHes: ${JSON.stringify(patches)}`);
    assert.deepEqual(patches[1], { offset: half, bytes: buf.length - half }, 'the second PATCH sends the rest only');
    const files = uploadedFiles();
    assert.ok(files.has(sha(buf)), `the resumed upload is not on disk byte-identical: ${[...files.values()]}`);
    assert.equal(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('shoebox.upload:')).length), 0,
      'the finished upload is still remembered for resuming');
    await listed(photoID(buf));
    await page.close();
  });

  test('on a phone the Upload button fits the header', { timeout: 60_000 }, async () => {
    const ctx = await g.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, baseURL: g.server.baseURL });
    const page = await ctx.newPage();
    await page.goto('/');
    const btn = page.locator('label.upload-btn');
    await btn.waitFor();
    const box = await btn.boundingBox();
    assert.ok(box && box.height >= 44 && box.x >= 0 && box.x + box.width <= 390, `the Upload button at ${JSON.stringify(box)}`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'the page scrolls sideways');
    await page.screenshot({ path: path.join(shots, 'upload-phone.png') });
    await ctx.close();
  });

  test('a text file named .jpg is refused with the reason, nothing kept', { timeout: 120_000 }, async () => {
    const page = await g.ctx.newPage();
    await page.goto('/');
    const before = uploadedFiles();
    await page.setInputFiles('#upload-input', { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('shopping list: milk\n') });
    const row = page.locator('#uploads li', { hasText: 'notes.jpg' });
    await row.locator('.state', { hasText: 'not a readable photo' }).waitFor({ timeout: 60_000 });
    assert.equal(await row.getAttribute('class'), 'failed');
    await page.screenshot({ path: path.join(shots, 'upload-refused.png') });
    const after = uploadedFiles();
    assert.deepEqual([...after.values()].sort(), [...before.values()].sort(), 'a refused upload left a file');
    await page.close();
  });
});
