// browser.mjs URL YYYY-MM COUNT: chromium opens URL/?at=YYYY-MM and scrolls
// through the whole month, half a screen a frame, as fast as the page
// allows (waiting where the next page is still loading). It prints one JSON
// object of figures for bench/timeline (nothing asserted).
import { chromium } from '../../e2e/node_modules/playwright-core/index.mjs';

const [url, month, count] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--enable-precise-memory-info'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  let fetches = 0;
  page.on('request', (r) => { if (r.url().includes('/api/photos?')) fetches++; });
  const t0 = Date.now();
  await page.goto(`${url}/?at=${month}`);
  await page.waitForFunction(() => [...document.querySelectorAll('#timeline.js a.tile img')].some((i) => i.complete && i.naturalWidth > 0));
  const firstTilesMs = Date.now() - t0;
  const r = await page.evaluate(async ({ month, count }) => {
    const frames = [];
    const seen = new Set();
    let maxTiles = 0;
    let maxElements = 0;
    const start = performance.now();
    let last = start;
    for (;;) {
      await new Promise((res) => requestAnimationFrame(res));
      const now = performance.now();
      frames.push(now - last);
      last = now;
      const tiles = document.querySelectorAll('a.tile');
      maxTiles = Math.max(maxTiles, tiles.length);
      for (const a of tiles) seen.add(a.dataset.id);
      if (frames.length % 20 === 0) maxElements = Math.max(maxElements, document.getElementsByTagName('*').length);
      // Done when an older month's heading shows (the month is behind us).
      if ([...document.querySelectorAll('h2.tl-month[data-month]')].some((h) => h.dataset.month < month)) break;
      if (now - start > 300_000) throw new Error(`not through the month in 5 minutes (${seen.size} of ${count} photos seen)`);
      window.scrollBy(0, window.innerHeight / 2);
    }
    const sorted = [...frames].sort((a, b) => a - b);
    const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    return {
      ScrollMs: performance.now() - start, Frames: frames.length, FrameP50: q(0.5), FrameP95: q(0.95), FrameMax: sorted[sorted.length - 1],
      LongFrames: frames.filter((f) => f > 50).length, Shown: seen.size, MaxTiles: maxTiles, MaxElements: maxElements,
      HeapMB: (performance.memory?.usedJSHeapSize ?? 0) / 2 ** 20,
    };
  }, { month, count: Number(count) });
  process.stdout.write(JSON.stringify({ FirstTilesMs: firstTilesMs, Fetches: fetches, ...r }));
} finally {
  await browser.close();
}
