// End-to-end test of places and the map as a person sees them: one shoebox
// server (bin/shoebox, embedded PostgreSQL) indexes 4 wallpapers without
// GPS and the 5 GPS photos of testdata/fixtures/gps (Stockholm, Beijing,
// Arezzo, two in Florida), and Debian's chromium, driven by playwright-core:
//
//   - the photo page names the place; its links search place:NAME;
//   - /map offline: the tiles (SHOEBOX_MAP_TILES pointed at a closed local
//     port) do not load, so the page falls back on the embedded country
//     outlines; the 5 located photos are clustered markers; clicking a
//     cluster lists its photos, and a photo opens its page;
//   - thousands of photos: /api/map answered with 5000 made-up positions,
//     clustered; the time until the clusters are drawn is logged, not
//     asserted.
//
// No request leaves this machine: every request to another host is
// aborted by the browser. Run from the repository root after `make build`:
//
//   node --test e2e/map.test.mjs
//
// Screenshots land in e2e/screenshots/map-*.png.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { harness, watch, repo, shots, DESKTOP, CHROMIUM_ARGS } from './harness.mjs';

const WALLPAPERS = 4;
const GPS = path.join(repo, 'testdata', 'fixtures', 'gps');
const g = { name: 'map', librarySize: WALLPAPERS, indexTimeoutMs: 3 * 60_000 };
const { makeLibrary, startServer, cleanup } = harness(g);

// localOnly aborts every request to a host other than the server's.
async function localOnly(page) {
  const origin = new URL(g.server.baseURL).origin;
  await page.route('**/*', (r) => (r.request().url().startsWith(origin) ? r.continue() : r.abort()));
}

describe('places and the map', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    makeLibrary();
    const located = fs.readdirSync(GPS).filter((f) => f.endsWith('.jpg'));
    assert.equal(located.length, 5, `GPS fixtures in ${GPS}: run scripts/setup.sh`);
    for (const f of located) fs.copyFileSync(path.join(GPS, f), path.join(g.library, f));
    g.librarySize = WALLPAPERS + located.length;
    // Tiles from a local port nobody listens on: the map is offline.
    await startServer({ SHOEBOX_MAP_TILES: 'http://127.0.0.1:9/{z}/{x}/{y}.png' });
    g.browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    fs.mkdirSync(shots, { recursive: true });
  });
  after(cleanup);

  test('the photo page names the place and searches it', async () => {
    const page = await g.browser.newPage({ viewport: DESKTOP });
    await localOnly(page);
    const res = await page.request.get(g.server.baseURL + '/api/search?q=place:stockholm');
    const found = (await res.json()).photos;
    assert.equal(found.length, 1, 'place:stockholm finds the Stockholm photo');
    await page.goto(g.server.baseURL + '/photo/' + found[0].id);
    const placeCell = page.locator('td.place');
    assert.equal((await placeCell.textContent()).trim(), 'Stockholm, Stockholm, Sweden');
    await page.screenshot({ path: path.join(shots, 'map-photo-place.png') });
    await placeCell.getByRole('link', { name: 'Sweden' }).click();
    await page.waitForURL(/\/search\?q=place%3ASweden|\/search\?q=place:Sweden/i);
    assert.equal(await page.locator('.grid .tile').count(), 1, 'place:Sweden lists one photo');
    await page.close();
  });

  test('the map works offline on the outline, clusters, lists a cluster', async () => {
    const page = await g.browser.newPage({ viewport: DESKTOP });
    const problems = watch(page);
    await localOnly(page);
    const located = (await (await page.request.get(g.server.baseURL + '/api/map')).json()).photos.length;
    assert.ok(located >= 5, `the 5 GPS photos are on the map (${located} located)`);
    await page.goto(g.server.baseURL + '/map');
    await page.waitForFunction(() => /located photos/.test(document.getElementById('map-status').textContent));
    assert.match(await page.locator('#map-status').textContent(), new RegExp(`^${located} located photos`));
    // The outline is drawn (one SVG path per country), and the tiles gave up.
    await page.waitForFunction(() => document.querySelectorAll('.leaflet-outline-pane path').length > 100);
    await page.waitForFunction(() => document.getElementById('map').classList.contains('offline'), null, { timeout: 30_000 });
    await page.waitForFunction(() => /country outlines only/.test(document.getElementById('map-status').textContent));
    await page.screenshot({ path: path.join(shots, 'map-offline.png') });
    // Zoomed out to all five: the two Florida photos (15 km apart) share a cluster.
    const clusters = page.locator('.marker-cluster');
    assert.ok(await clusters.count() >= 1, 'at least one cluster');
    await clusters.first().click();
    await page.waitForSelector('#map-list:not([hidden])');
    const listed = await page.locator('#map-list .tile').count();
    assert.ok(listed >= 2, `a cluster lists its photos (${listed})`);
    assert.match(await page.locator('#map-list .count').textContent(), new RegExp(`^${listed} photos`));
    await page.screenshot({ path: path.join(shots, 'map-cluster-list.png') });
    await Promise.all([page.waitForURL(/\/photo\/[\w-]+$/, { waitUntil: 'domcontentloaded' }), page.locator('#map-list .tile').first().click()]);
    const unexpected = problems.filter((p) => !/127\.0\.0\.1:9\/|ERR_FAILED|ERR_CONNECTION_REFUSED|net::ERR/.test(p));
    assert.deepEqual(unexpected, [], 'no problems but the unreachable tiles');
    await page.close();
  });

  test('thousands of photos are clustered', async () => {
    const page = await g.browser.newPage({ viewport: DESKTOP });
    await localOnly(page);
    const N = 5000;
    const photos = [];
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < N; i++) {
      photos.push({ id: i.toString(16).padStart(16, '0'), lat: -50 + rnd() * 110, lon: -170 + rnd() * 340, thumbnail_url: '/thumbnail/none' });
    }
    await page.route('**/api/map', (r) => r.fulfill({ contentType: 'application/json', body: JSON.stringify({ photos, truncated: false }) }));
    const start = Date.now();
    await page.goto(g.server.baseURL + '/map');
    await page.waitForFunction((n) => document.getElementById('map-status').textContent.startsWith(`${n} located photos`), N);
    await page.waitForSelector('.marker-cluster');
    const ms = Date.now() - start;
    const clusters = await page.locator('.marker-cluster').count();
    assert.ok(clusters > 0 && clusters < 500, `${clusters} clusters drawn for ${N} photos`);
    console.log(`# ${N} photos: ${clusters} clusters drawn ${ms} ms after navigation`);
    // A cluster's click still lists at once (up to 200 of its photos).
    const before = Date.now();
    await page.locator('.marker-cluster').first().click();
    await page.waitForSelector('#map-list:not([hidden])');
    console.log(`# a cluster listed ${Date.now() - before} ms after its click`);
    await page.screenshot({ path: path.join(shots, 'map-5000.png') });
    await page.close();
  });
});
