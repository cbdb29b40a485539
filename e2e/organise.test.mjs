// End-to-end test of organising and sharing as people do it, through the
// server-rendered forms (no script needed): one shoebox server (bin/shoebox,
// embedded PostgreSQL) indexes 8 small wallpapers, two accounts use it —
// anna (admin, owns the library) and ben (member, owns nothing) — and
// Debian's chromium, driven by playwright-core, clicks through:
//
//   - per-user state: favourite, archive, trash, restore, empty the trash;
//   - albums: create, add from the photo page, rename, cover, share with
//     ben, remove a photo, delete;
//   - share links from a photo page and from an album page, opened by a
//     visitor (a fresh browser context, no account): only the shared
//     photos, a password asked by a form, 410 once revoked;
//   - a selection downloaded as a zip through the form POST /download,
//     whose entries are read back from the zip's central directory.
//
// Each flow is looked at on a desktop (1280×800) and on a 390×844 phone.
// Run from the repository root after `make build`:
//
//   node --test e2e/organise.test.mjs        (or: make e2e)
//
// Screenshots land in e2e/screenshots/organise-*.png. The server, its
// embedded PostgreSQL and the browser are stopped even when a test fails;
// SHOEBOX_E2E_KEEP=1 keeps the temporary folder.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { harness, watch, shoeboxEnv, repo, bin, corpus, shots, DESKTOP, CHROMIUM_ARGS, sleep, later, tail } from './harness.mjs';


const LIBRARY_SIZE = 8;
const INDEX_TIMEOUT_MS = 3 * 60_000;
const ANNA = 'anna';
const BEN = 'ben';
const PASSWORD = 'a long enough passphrase';
const LINK_PASSWORD = 'open sesame 42';
const PHONE = { width: 390, height: 844 };
const TOUCH_PX = 44;


// The one server's state, shared by the hooks and tests.
const g = { name: 'organise', librarySize: LIBRARY_SIZE, indexTimeoutMs: INDEX_TIMEOUT_MS };

const { makeLibrary, startServer, waitFor, stopServer, cleanup, postgresLeft } = harness(g);

// addUser runs `shoebox user add` beside the running server (same data
// folder, so the same embedded PostgreSQL).
function addUser(name, admin) {
  const args = ['user', 'add', name, ...(admin ? ['--admin'] : []), '--password-stdin', '--data', g.dataDir];
  const r = spawnSync(bin, args, { cwd: repo, env: shoeboxEnv(), input: `${PASSWORD}\n`, encoding: 'utf8', timeout: 60_000 });
  assert.ok(!r.error && r.status === 0, `shoebox ${args.join(' ')}: ${r.error ?? `exit ${r.status}`}\n${r.stdout}${r.stderr}`);
}


// newContext is a browser context on the server: a desktop, or a phone as
// a mobile browser lays it out.
function newContext(phone = false) {
  return g.browser.newContext(phone
    ? { viewport: PHONE, isMobile: true, hasTouch: true, baseURL: g.server.baseURL }
    : { viewport: DESKTOP, baseURL: g.server.baseURL });
}

// signIn signs a context in through the /login form.
async function signIn(ctx, name) {
  const page = await ctx.newPage();
  await page.goto('/login');
  await page.fill('input[name=username]', name);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('form[action="/login"] button[type=submit]')]);
  await page.close();
}

// phoneAs is a phone context holding the cookies of a desktop one.
async function phoneAs(ctx) {
  const phone = await newContext(true);
  await phone.addCookies(await ctx.cookies());
  return phone;
}

async function waitImagesDecoded(page, selector, timeout = 30_000) {
  try {
    await page.waitForFunction((sel) => {
      const imgs = [...document.querySelectorAll(sel)];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    }, selector, { timeout, polling: 200 });
  } catch {
    const bad = await page.$$eval(selector, (imgs) => imgs.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.src));
    throw new Error(`images ${selector} not decoded after ${timeout} ms: ${bad.join(', ') || 'none on the page'}`);
  }
}

// tileIDs lists the photo ids of a page's tiles (in a grid, or in the
// gallery's timeline rows; gallery tiles link to /photo/ID, a share's to
// /s/KEY/p/ID), in order.
const tileIDs = (page) => page.locator('main a.tile')
  .evaluateAll((as) => as.map((a) => a.getAttribute('href').split('/').pop()));

// starred lists the ids of the tiles showing the favourite star.
const starred = (page) => page.locator('main a.tile:has(.fav)')
  .evaluateAll((as) => as.map((a) => a.getAttribute('href').split('/').pop()));

// gridOf opens path and returns its tile ids once their thumbnails decoded.
async function gridOf(page, p) {
  const res = await page.goto(p);
  assert.equal(res.status(), 200, `GET ${p}`);
  const ids = await tileIDs(page);
  if (ids.length) await waitImagesDecoded(page, 'main a.tile img');
  return ids;
}

// submit clicks a form's button and waits for the page it leads to.
async function submit(page, button, pathname) {
  await Promise.all([
    page.waitForURL((u) => (typeof pathname === 'function' ? pathname(u) : u.pathname === pathname)),
    button.click(),
  ]);
  await page.waitForLoadState();
}

// details is the <details> whose summary reads exactly summary, opened.
async function details(page, summary) {
  const d = page.locator('details').filter({ has: page.locator('summary', { hasText: new RegExp(`^${summary}$`) }) });
  assert.equal(await d.count(), 1, `one "${summary}" section`);
  await d.locator('summary').click();
  return d;
}

// statusOf polls a path in a context until it answers want (a change is
// reflected within about a second), and returns the last status.
async function statusOf(ctx, p, want, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = (await ctx.request.get(p, { maxRedirects: 0 })).status();
    if (st === want || Date.now() > deadline) return st;
    await sleep(100);
  }
}

// checkFits asserts that a page fits the phone: laid out at the phone's
// width, no sideways scroll, the header's controls inside the screen and
// touch-sized, and no element spilling off the screen or out of its box
// (photo tiles crop their thumbnails on purpose and are left out).
async function checkFits(page, what) {
  const problems = await page.evaluate(({ vw, touch }) => {
    const out = [];
    if (window.innerWidth !== vw) out.push(`laid out ${window.innerWidth} px wide, not ${vw}`);
    const sw = document.documentElement.scrollWidth;
    if (sw > window.innerWidth) out.push(`scrolls sideways: scrollWidth ${sw} > ${window.innerWidth}`);
    const name = (el) => `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).replace(/ /g, '.')}` : ''}`
      + ` "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 40)}"`;
    for (const el of document.querySelectorAll('header a, header button, header input')) {
      const b = el.getBoundingClientRect();
      if (b.left < 0 || b.right > vw + 0.5) out.push(`header ${name(el)}: off screen`);
      if (b.height < touch) out.push(`header ${name(el)}: ${b.height.toFixed(1)} px tall`);
    }
    for (const el of document.querySelectorAll('main button, main summary, main select')) {
      const b = el.getBoundingClientRect();
      if (b.width > 0 && b.height < touch) out.push(`${name(el)}: ${b.height.toFixed(1)} px tall, not touch-sized`);
    }
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('.tile') || el.closest('.sr') || ['SCRIPT', 'STYLE', 'INPUT', 'TEXTAREA'].includes(el.tagName)) continue;
      const b = el.getBoundingClientRect();
      if (b.width === 0 && b.height === 0) continue;
      if (b.right > vw + 0.5 || b.left < -0.5) out.push(`${name(el)}: off screen (${b.left.toFixed(1)}..${b.right.toFixed(1)})`);
      else if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) out.push(`${name(el)}: content ${el.scrollWidth} px in ${el.clientWidth} px`);
    }
    return out;
  }, { vw: PHONE.width, touch: TOUCH_PX });
  assert.deepEqual(problems.slice(0, 25), [], `${what} does not fit a ${PHONE.width} px screen`);
}

// shot takes a screenshot from the top of the page (a sticky header would
// otherwise be drawn where the page was scrolled to).
async function shot(page, name, fullPage = true) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(shots, `organise-${name}.png`), fullPage });
}

// ---------------------------------------------------------------- zip

// readZip lists a zip's entries from its central directory (end record,
// then one header per entry) and reads each entry's bytes through its
// local header: stored as is, or deflated.
function readZip(buf) {
  let end = buf.length - 22;
  while (end >= 0 && buf.readUInt32LE(end) !== 0x06054b50) end--;
  assert.ok(end >= 0, 'the zip has an end of central directory record');
  const count = buf.readUInt16LE(end + 10);
  let at = buf.readUInt32LE(end + 16);
  assert.ok(count !== 0xffff && at !== 0xffffffff, 'a small zip needs no zip64');
  const entries = [];
  for (let k = 0; k < count; k++) {
    assert.equal(buf.readUInt32LE(at), 0x02014b50, `central directory header ${k}`);
    const method = buf.readUInt16LE(at + 10);
    const size = buf.readUInt32LE(at + 20);
    const n = buf.readUInt16LE(at + 28);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + n);
    at += 46 + n + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
    assert.equal(buf.readUInt32LE(local), 0x04034b50, `local header of ${name}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + size);
    const data = method === 0 ? raw : method === 8 ? zlib.inflateRawSync(raw) : null;
    assert.ok(data, `${name}: compression method ${method}`);
    entries.push({ name, method, data });
  }
  return entries;
}

// ---------------------------------------------------------------- tests

describe('organise and share (two accounts, one server)', () => {
  before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    makeLibrary();
    const stats = await startServer();
    console.log(`# indexed ${stats.photos} photos at ${g.server.baseURL}`);
    addUser(ANNA, true); // the first admin: the --library becomes hers
    addUser(BEN, false);
    // The server notices the first account within a second.
    await waitFor('/api/stats', 10_000, async (res) => res.status === 401);
    g.browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    g.anna = await newContext();
    g.ben = await newContext();
    await signIn(g.anna, ANNA);
    await signIn(g.ben, BEN);
    // The library's photos, by file name.
    const res = await g.anna.request.get('/api/photos?limit=100');
    assert.equal(res.status(), 200);
    g.photos = (await res.json()).photos.map((p) => ({ id: p.id, name: path.basename(p.path) }));
    assert.equal(g.photos.length, LIBRARY_SIZE, `anna's photos: ${g.photos.map((p) => p.name)}`);
    g.byID = new Map(g.photos.map((p) => [p.id, p.name]));
  }, { timeout: INDEX_TIMEOUT_MS + 180_000 });

  after(cleanup, { timeout: 90_000 });

  test('favourite, archive, trash, restore and empty the trash from the photo page', { timeout: 180_000 }, async () => {
    const page = await g.anna.newPage();
    const problems = watch(page);
    const all = await gridOf(page, '/');
    assert.deepEqual([...all].sort(), g.photos.map((p) => p.id).sort(), 'the gallery shows the whole library');
    const [fav, arch, trash1, trash2] = all;
    g.fav = fav;

    // Favourite: the button turns into "★ Favourite", the tile gets a star.
    await page.goto(`/photo/${fav}`);
    await waitImagesDecoded(page, 'img.preview');
    const favButton = page.locator('form.state button[name=favorite]');
    assert.equal((await favButton.textContent()).trim(), '☆ Favourite');
    await submit(page, favButton, `/photo/${fav}`);
    assert.equal((await favButton.textContent()).trim(), '★ Favourite', 'the button says it is a favourite');
    assert.equal(await favButton.getAttribute('aria-pressed'), 'true');
    await shot(page, 'photo');
    assert.deepEqual(await gridOf(page, '/'), all, 'a favourite stays in the gallery');
    assert.deepEqual(await starred(page), [fav], 'the star shows on the favourite only');
    assert.deepEqual(await gridOf(page, '/favorites'), [fav], '/favorites');

    // Archive: out of the gallery, into /archive; unarchive brings it back.
    await page.goto(`/photo/${arch}`);
    await submit(page, page.locator('form.state button[name=archived]'), `/photo/${arch}`);
    assert.equal((await page.locator('form.state button[name=archived]').textContent()).trim(), 'Unarchive');
    assert.deepEqual(await gridOf(page, '/'), all.filter((id) => id !== arch), 'the archived photo left the gallery');
    assert.deepEqual(await gridOf(page, '/archive'), [arch], '/archive');
    const q = encodeURIComponent(g.byID.get(arch).replace(/\.jpg$/, ''));
    assert.deepEqual(await gridOf(page, `/search?q=${q}`), [], 'search leaves the archived photo out');
    assert.deepEqual(await gridOf(page, '/search?q=is:archived'), [arch], 'is:archived');
    await page.goto(`/photo/${arch}`);
    await submit(page, page.locator('form.state button[name=archived]'), `/photo/${arch}`);
    assert.deepEqual(await gridOf(page, '/'), all, 'unarchived, it is back');

    // Trash two: out of the gallery and /favorites, into /trash.
    for (const id of [trash1, trash2]) {
      await page.goto(`/photo/${id}`);
      await submit(page, page.locator('form.state button[name=trashed][value=true]'), `/photo/${id}`);
      assert.match(await page.locator('form.state .notice').textContent(), /In the trash/);
      assert.equal(await page.locator('form.state button').count(), 1, 'a trashed photo offers only "Restore"');
    }
    const kept = all.filter((id) => id !== trash1 && id !== trash2);
    assert.deepEqual(await gridOf(page, '/'), kept, 'trashed photos left the gallery');
    assert.deepEqual((await gridOf(page, '/trash')).sort(), [trash1, trash2].sort(), '/trash lists them');
    await shot(page, 'trash');

    // Restore one by ticking it on the Trash page.
    await page.locator(`form.trash input[name=id][value="${trash1}"]`).check();
    await submit(page, page.locator('form.trash button', { hasText: 'Restore selected' }), '/trash');
    assert.deepEqual(await tileIDs(page), [trash2], 'the restored photo left the trash');
    assert.deepEqual((await gridOf(page, '/')).sort(), [...kept, trash1].sort(), 'and is back in the gallery');

    // Empty the trash: gone for good, for anna only.
    await page.goto('/trash');
    await submit(page, page.locator('form.trash button[name=empty]'), '/trash');
    assert.deepEqual(await tileIDs(page), [], 'the trash is empty');
    assert.match(await page.locator('main .empty').textContent(), /\S/, 'it says so');
    assert.ok(!(await gridOf(page, '/')).includes(trash2), 'the emptied photo stays out of the gallery');
    g.visible = all.filter((id) => id !== trash2);
    g.gone = trash2;
    assert.ok(fs.existsSync(path.join(g.library, g.byID.get(trash2))), 'the file stays in the library folder');
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();

    // On a phone: the photo page's buttons and the trash page fit.
    const phone = await phoneAs(g.anna);
    try {
      const p = await phone.newPage();
      const phoneProblems = watch(p);
      await p.goto(`/photo/${fav}`);
      await waitImagesDecoded(p, 'img.preview');
      await checkFits(p, 'photo page');
      await shot(p, 'phone-photo');
      await p.goto(`/photo/${trash1}`);
      await submit(p, p.locator('form.state button[name=trashed][value=true]'), `/photo/${trash1}`);
      await gridOf(p, '/trash');
      await checkFits(p, 'trash page');
      await shot(p, 'phone-trash');
      await p.locator(`form.trash input[name=id][value="${trash1}"]`).check();
      await submit(p, p.locator('form.trash button', { hasText: 'Restore selected' }), '/trash');
      assert.deepEqual(await tileIDs(p), [], 'restored on the phone');
      assert.deepEqual(phoneProblems, [], 'no console errors or failed requests on the phone');
    } finally {
      await phone.close();
    }
  });

  test('albums: create, add from the photo page, rename, cover, share with ben, remove a photo', { timeout: 180_000 }, async () => {
    const page = await g.anna.newPage();
    const problems = watch(page);
    await page.goto('/albums');
    await page.fill('form[action="/albums"] input[name=name]', 'Summer trip');
    await submit(page, page.locator('form[action="/albums"] button'), (u) => /^\/albums\/\d+$/.test(u.pathname));
    g.album = new URL(page.url()).pathname.split('/').pop();
    assert.equal((await page.textContent('main h1')).trim(), 'Summer trip');
    assert.equal(await page.locator('main a.tile').count(), 0, 'a new album is empty');

    // Add three photos from their pages.
    const [a, b, c] = g.visible;
    g.inAlbum = [a, b, c];
    for (const id of g.inAlbum) {
      await page.goto(`/photo/${id}`);
      await page.selectOption('form.addalbum select[name=album]', g.album);
      await submit(page, page.locator('form.addalbum button'), (u) => u.pathname === `/photo/${id}` && u.searchParams.get('added') === g.album);
      assert.equal((await page.textContent('[role=status]')).trim(), 'Added to “Summer trip”.');
    }
    assert.deepEqual((await gridOf(page, `/albums/${g.album}`)).sort(), [...g.inAlbum].sort(), 'the album holds the three');
    assert.match(await page.textContent('main p.muted'), /^3 photos/);

    // Rename and describe.
    const edit = await details(page, 'Rename or describe');
    await edit.locator('input[name=name]').fill('Seaside 2019');
    await edit.locator('textarea[name=description]').fill('Three days by the sea.');
    await submit(page, edit.locator('button'), `/albums/${g.album}`);
    assert.equal((await page.textContent('main h1')).trim(), 'Seaside 2019');
    assert.equal((await page.textContent('main p.description')).trim(), 'Three days by the sea.');

    // Choose the cover: the second photo.
    const photos = await details(page, 'Cover and photos');
    await submit(page, photos.locator(`li:has(input[value="${b}"]) form[action$="/cover"] button`), `/albums/${g.album}`);
    const albums = await (await g.anna.request.get('/api/albums')).json();
    assert.equal(albums.albums.find((x) => String(x.id) === g.album)?.cover, b, 'the cover is the photo chosen');
    await page.goto('/albums');
    assert.equal(await page.getAttribute(`ul.albums a[href="/albums/${g.album}"] img`, 'src'), `/thumbnail/${b}?v=1`, '/albums shows the cover');
    await waitImagesDecoded(page, 'ul.albums img');
    await shot(page, 'albums');

    // Share with ben as a viewer.
    await page.goto(`/albums/${g.album}`);
    const share = await details(page, 'Share');
    await share.locator('input[name=user]').fill(BEN);
    await share.locator('select[name=role]').selectOption('viewer');
    await submit(page, share.locator('form[action$="/members"] button'), `/albums/${g.album}`);
    await (await details(page, 'Share')).waitFor();
    assert.match(await page.locator('details', { hasText: 'Stop sharing' }).textContent(), /ben \(viewer\)/);

    // Ben sees the album and its photos, without anna's star, and cannot edit.
    const benPage = await g.ben.newPage();
    const benProblems = watch(benPage);
    await benPage.goto('/albums');
    assert.match(await benPage.textContent('ul.albums'), /Seaside 2019[\s\S]*shared by anna \(viewer\)/);
    assert.deepEqual((await gridOf(benPage, `/albums/${g.album}`)).sort(), [...g.inAlbum].sort(), 'ben sees the album\'s photos');
    assert.deepEqual(await starred(benPage), [], 'anna\'s favourite is hers: no star for ben');
    assert.equal(await benPage.locator('details summary', { hasText: /Rename|Cover|Delete/ }).count(), 0, 'a viewer gets no edit forms');
    const outside = g.visible.find((id) => !g.inAlbum.includes(id));
    assert.equal(await statusOf(g.ben, `/thumbnail/${a}?v=1`, 200), 200, 'ben gets an album photo\'s thumbnail');
    assert.equal(await statusOf(g.ben, `/thumbnail/${outside}?v=1`, 404), 404, 'but 404 for anna\'s other photos');
    assert.equal((await g.ben.request.get(`/photo/${outside}`)).status(), 404, 'and their pages');

    // Remove the third photo: gone from the album for both.
    await page.goto(`/albums/${g.album}`);
    const cover = await details(page, 'Cover and photos');
    await submit(page, cover.locator(`li:has(input[value="${c}"]) form[action$="/photos/remove"] button`), `/albums/${g.album}`);
    g.inAlbum = [a, b];
    assert.deepEqual((await gridOf(page, `/albums/${g.album}`)).sort(), [...g.inAlbum].sort(), 'two photos left');
    await (await details(page, 'Cover and photos')).waitFor();
    await shot(page, 'album');
    assert.deepEqual((await gridOf(benPage, `/albums/${g.album}`)).sort(), [...g.inAlbum].sort(), 'ben sees two');
    assert.equal(await statusOf(g.ben, `/thumbnail/${c}?v=1`, 404), 404, 'the removed photo is no longer ben\'s to see');
    assert.ok((await gridOf(page, '/')).includes(c), 'the removed photo stays in anna\'s library');
    assert.deepEqual(problems, [], 'no console errors or failed requests (anna)');
    assert.deepEqual(benProblems, [], 'no console errors or failed requests (ben)');
    await page.close();
    await benPage.close();

    // On a phone: the album page with its forms open, and the albums page.
    const phone = await phoneAs(g.anna);
    try {
      const p = await phone.newPage();
      const phoneProblems = watch(p);
      await gridOf(p, `/albums/${g.album}`);
      for (const s of ['Cover and photos', 'Rename or describe', 'Share', 'Share a link', 'Delete album']) await details(p, s);
      await waitImagesDecoded(p, 'ul.albumphotos img');
      await checkFits(p, 'album page');
      await shot(p, 'phone-album');
      await p.goto('/albums');
      await waitImagesDecoded(p, 'ul.albums img');
      await checkFits(p, 'albums page');
      assert.deepEqual(phoneProblems, [], 'no console errors or failed requests on the phone');
    } finally {
      await phone.close();
    }
  });

  test('share links: a visitor sees only what was shared; a password is asked by form; revoked is 410', { timeout: 180_000 }, async () => {
    const page = await g.anna.newPage();
    const problems = watch(page);
    const [a] = g.inAlbum;
    const others = g.visible.filter((id) => !g.inAlbum.includes(id));

    // A link to one photo, from its page.
    await page.goto(`/photo/${a}`);
    const form = await details(page, 'Share a link');
    await submit(page, form.locator('button', { hasText: 'Make link' }), '/shares');
    const photoLink = await page.getAttribute('#new-link a', 'href');
    assert.match(photoLink, /^\/s\/[A-Za-z0-9_-]{43}$/, 'the new link is shown');

    const visitor = await newContext();
    try {
      const v = await visitor.newPage();
      const vProblems = watch(v);
      const res = await v.goto(photoLink);
      assert.equal(res.status(), 200);
      assert.equal(res.headers()['referrer-policy'], 'no-referrer');
      assert.deepEqual(await tileIDs(v), [a], 'the visitor sees exactly the shared photo');
      await waitImagesDecoded(v, 'main a.tile img');
      assert.equal(await v.locator('header nav, header form').count(), 0, 'no site navigation for a visitor');
      await submit(v, v.locator('main a.tile'), `${photoLink}/p/${a}`);
      await waitImagesDecoded(v, 'img.preview');
      assert.equal(await v.locator('a[href^="/original/"]').count(), 0, 'no download unless allowed');
      assert.doesNotMatch(await v.textContent('main'), new RegExp(g.byID.get(a).replace('.', '\\.')), 'no file name');
      for (const id of others) {
        assert.equal((await visitor.request.get(`/thumbnail/${id}?v=1`)).status(), 404, `visitor: /thumbnail/ of another photo`);
        assert.equal((await visitor.request.get(`/preview/${id}?v=1`)).status(), 404, `visitor: /preview/ of another photo`);
        assert.equal((await visitor.request.get(`${photoLink}/p/${id}`)).status(), 404, 'visitor: another photo through the link');
      }
      assert.notEqual((await visitor.request.get(`/original/${a}`)).status(), 200, 'no original without allow_download');
      assert.equal((await visitor.request.get('/api/photos')).status(), 401, 'the rest of Shoebox asks to sign in');
      assert.equal(new URL((await v.goto('/')).url()).pathname, '/login', 'the gallery asks to sign in');
      assert.deepEqual(vProblems, [], 'no errors for the visitor');
      await v.close();

      // Revoke it on /shares: the page and the media answer 410.
      await page.goto('/shares');
      const id = await page.locator('table.meta tr:has(form[action$="/revoke"]) td').first().textContent();
      await submit(page, page.locator('form[action$="/revoke"] button').first(), '/shares');
      assert.match(await page.textContent('table.meta'), new RegExp(`${id.trim()}[\\s\\S]*revoked`), 'listed as revoked');
      assert.equal((await visitor.request.get(photoLink)).status(), 410, 'the revoked link is 410');
      assert.equal(await statusOf(visitor, `/thumbnail/${a}?v=1`, 410), 410, 'and so are its thumbnails');
      const gone = await visitor.newPage();
      await gone.goto(photoLink);
      assert.match(await gone.textContent('main h1'), /expired or was revoked/);
      await shot(gone, 'share-revoked');
      await gone.close();
    } finally {
      await visitor.close();
    }

    // A link to the album, with a password, from the album page.
    await page.goto(`/albums/${g.album}`);
    const albumForm = await details(page, 'Share a link');
    await albumForm.locator('input[name=password]').fill(LINK_PASSWORD);
    await albumForm.locator('input[name=expires_in]').fill('72h');
    await submit(page, albumForm.locator('button', { hasText: 'Make link' }), '/shares');
    g.albumLink = await page.getAttribute('#new-link a', 'href');
    assert.match(g.albumLink, /^\/s\/[A-Za-z0-9_-]{43}$/);
    // Each link's row counts what it shows: the album's two photos, one photo.
    const rows = await page.locator('table.shares tr:has(td)').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
    assert.deepEqual(rows.map((r) => [r[1], r[3]]), [['2', 'password · view only'], ['1', 'view only']], '/shares rows');
    assert.match(rows[0][2], /^\d{4}-\d\d-\d\d \d\d:\d\d$/, 'the album link expires (72h)');
    assert.equal(rows[1][2], 'revoked');
    await shot(page, 'shares');
    const sharesPhone = await phoneAs(g.anna);
    try {
      const p = await sharesPhone.newPage();
      await p.goto('/shares');
      await checkFits(p, 'share links page');
      await shot(p, 'phone-shares');
    } finally {
      await sharesPhone.close();
    }

    g.visitor = await newContext();
    const v = await g.visitor.newPage();
    const vProblems = watch(v);
    await v.goto(g.albumLink);
    assert.equal((await v.textContent('main h1')).trim(), 'These photos are protected');
    assert.equal(await v.locator('main a.tile img').count(), 0, 'nothing shown before the password');
    assert.equal((await g.visitor.request.get(`/thumbnail/${a}?v=1`)).status() === 200, false, 'no media before the password');
    await v.fill('input[name=password]', 'not the password');
    const [wrong] = await Promise.all([
      v.waitForResponse((r) => r.request().method() === 'POST'),
      v.click('form button[type=submit]'),
    ]);
    assert.equal(wrong.status(), 401);
    assert.equal((await v.textContent('[role=alert]')).trim(), 'Wrong password.');
    await shot(v, 'share-password');
    await v.fill('input[name=password]', LINK_PASSWORD);
    await submit(v, v.locator('form button[type=submit]'), g.albumLink);
    assert.ok(!v.url().includes('sesame') && !v.url().includes('password'), `the password is never in a URL: ${v.url()}`);
    assert.deepEqual((await tileIDs(v)).sort(), [...g.inAlbum].sort(), 'the album link shows the album\'s photos');
    await waitImagesDecoded(v, 'main a.tile img');
    await shot(v, 'share-visitor');
    for (const id of others) {
      assert.equal((await g.visitor.request.get(`/thumbnail/${id}?v=1`)).status(), 404, 'album visitor: another photo');
    }
    // 401 for the wrong password (and chromium's console line for it).
    const expected = (p) => /^HTTP 401: .*\/s\//.test(p) || /status of 401/.test(p);
    assert.deepEqual(vProblems.filter((p) => !expected(p)), [], 'no other errors for the visitor');
    await v.close();

    // The visitor's page, a shared photo and the password form on a phone.
    const phone = await newContext(true);
    try {
      const p = await phone.newPage();
      await p.goto(g.albumLink);
      await checkFits(p, 'share password form');
      await phone.addCookies(await g.visitor.cookies());
      await p.goto(g.albumLink);
      await waitImagesDecoded(p, 'main a.tile img');
      await checkFits(p, 'share visitor page');
      await shot(p, 'phone-share-visitor');
      await p.goto(`${g.albumLink}/p/${a}`);
      await waitImagesDecoded(p, 'img.preview');
      await checkFits(p, 'shared photo page');
      await shot(p, 'phone-share-photo');
    } finally {
      await phone.close();
    }
    assert.deepEqual(problems, [], 'no console errors or failed requests (anna)');
    await page.close();
  });

  test('a selection downloads as a zip through the form POST /download', { timeout: 120_000 }, async () => {
    const page = await g.anna.newPage();
    const problems = watch(page);
    const ids = await gridOf(page, '/');
    const chosen = ids.slice(0, 3);
    // No selection UI is needed: the form is what a grid's selection posts.
    const [dl] = await Promise.all([
      page.waitForEvent('download'),
      page.evaluate((list) => {
        const f = document.createElement('form');
        f.method = 'post';
        f.action = '/download';
        for (const id of list) {
          const i = document.createElement('input');
          Object.assign(i, { type: 'hidden', name: 'id', value: id });
          f.append(i);
        }
        document.body.append(f);
        f.submit();
      }, chosen),
    ]);
    assert.match(dl.suggestedFilename(), /^shoebox-\d{4}-\d\d-\d\d\.zip$/);
    const zip = fs.readFileSync(await dl.path());
    const entries = readZip(zip);
    assert.equal(entries.length, chosen.length, `one entry per photo: ${entries.map((e) => e.name)}`);
    assert.deepEqual(entries.map((e) => e.name).sort(), chosen.map((id) => g.byID.get(id)).sort(), 'named as in anna\'s library');
    for (const e of entries) {
      assert.equal(e.method, 0, `${e.name} is stored, not compressed again`);
      assert.ok(e.data.equals(fs.readFileSync(path.join(g.library, e.name))), `${e.name} is byte-exact`);
    }
    // An id of a photo the asker does not see: 404, no zip.
    const res = await g.ben.request.post('/download', { form: { id: ids.find((id) => !g.inAlbum.includes(id)) } });
    assert.equal(res.status(), 404, 'ben cannot download anna\'s photo outside the album');
    const ok = await g.ben.request.post('/download', { form: { id: g.inAlbum[0] } });
    assert.equal(ok.status(), 200, 'but may download an album photo');
    // Ben does not see anna's file names: the entry is named by the photo's id.
    const [benEntry, ...more] = readZip(await ok.body());
    assert.deepEqual(more, [], 'one entry');
    assert.equal(benEntry.name, `${g.inAlbum[0]}.jpg`, 'named by id, not by anna\'s file name');
    assert.ok(benEntry.data.equals(fs.readFileSync(path.join(g.library, g.byID.get(g.inAlbum[0])))), 'byte-exact');
    // A navigation that turns into a download is "aborted" as a navigation.
    const download = (p) => /^requestfailed: .*\/download net::ERR_ABORTED$/.test(p);
    assert.deepEqual(problems.filter((p) => !download(p)), [], 'no console errors or failed requests');
    await page.close();
  });

  test('deleting an album keeps its photos, and its link shows nothing', { timeout: 120_000 }, async () => {
    const page = await g.anna.newPage();
    const problems = watch(page);
    await page.goto(`/albums/${g.album}`);
    const del = await details(page, 'Delete album');
    await submit(page, del.locator('button'), '/albums');
    assert.equal(await page.locator(`ul.albums a[href="/albums/${g.album}"]`).count(), 0, 'the album is gone');
    const gallery = await gridOf(page, '/');
    for (const id of g.inAlbum) assert.ok(gallery.includes(id), `${g.byID.get(id)} stays in the library`);
    assert.equal((await g.ben.request.get(`/albums/${g.album}`)).status(), 404, 'ben: the album is gone');
    assert.equal(await statusOf(g.ben, `/thumbnail/${g.inAlbum[0]}?v=1`, 404), 404, 'ben no longer sees its photos');
    const v = await g.visitor.newPage();
    await v.goto(g.albumLink);
    assert.equal(await v.locator('main a.tile img').count(), 0, 'the album link shows no photo');
    assert.equal(await statusOf(g.visitor, `/thumbnail/${g.inAlbum[0]}?v=1`, 404), 404, 'nor its thumbnails');
    await v.close();
    await g.visitor.close();
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.close();
  });

  test('server stops on SIGTERM and leaves no postgres behind', { timeout: 90_000 }, async () => {
    try { await g.browser?.close(); } catch { /* gone */ }
    g.browser = null;
    const exit = await stopServer();
    assert.deepEqual(exit, { code: 0, signal: null }, `shoebox exit status:\n${tail(g.server.log)}`);
    const left = postgresLeft(g.server.pgData);
    if (left.length) stopPostgres(g.server.pgData);
    assert.deepEqual(left, [], `postgres processes left running on ${g.server.pgData}`);
  });
});
