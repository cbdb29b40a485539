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
import { chromium } from 'playwright-core';
import { harness, watch, shoeboxEnv, repo, bin, corpus, shots, DESKTOP, CHROMIUM_ARGS, sleep, later, tail } from './harness.mjs';


const LIBRARY_SIZE = 2;
const INDEX_TIMEOUT_MS = 3 * 60_000;


// The one server's state, shared by the hooks and tests.
const g = { name: 'upload', librarySize: LIBRARY_SIZE, indexTimeoutMs: INDEX_TIMEOUT_MS };

const { makeLibrary, startServer, waitFor, stopServer, cleanup, postgresLeft } = harness(g);



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
