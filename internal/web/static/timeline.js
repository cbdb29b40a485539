// The timeline: the server renders a page of photos under month and day
// headings (and a pager link) that works without script. This script takes
// the page over: it keeps a small record per photo, lays the photos out in
// justified rows (equal height, filling the width, a day's last row not
// stretched), puts only the rows near the screen in the page (the rest are
// empty space of their computed height, so a month of 70,000 photos costs a
// few hundred tiles at most), loads the next keyset page from /api/photos as
// the reader nears the end, and follows the date scrubber.
//
// Every tile is an <a class="tile" data-id="…"> to /photo/{id}, as on the
// server's page: a selection layer can find tiles by data-id, and listen
// for "timeline:render" on #timeline to learn when tiles are (re)made.
// #timeline.timeline is the list behind the tiles, for that layer (select.js):
// ids() in list order (what is loaded so far), favorite(ids, on) and
// remove(ids) after it changed photos.
(() => {
  'use strict';
  const root = document.getElementById('timeline');
  if (!root) return;
  const scrubber = document.getElementById('scrubber');
  const pager = document.querySelector('nav.pager a[rel=next]');
  const reduceMotion = window.matchMedia('(prefers-reduced-motion: reduce)');
  const wide = window.matchMedia('(min-width: 801px)');

  const GAP = 4; // px between tiles and rows (style.css .grid gap)
  const PAGE = 100; // photos a fetch
  const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July',
    'August', 'September', 'October', 'November', 'December'];
  const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

  // records: one small object a photo, in list order (newest first):
  // id, r (thumbnail width / height), d (its day "2019-06-01", shared
  // strings), alt (its path), f (the asker's favourite), v (a video's duration
  // badge, "" for a photo), l (a Live Photo: it moves on its page).
  const records = [];
  const days = new Map(); // interned day strings
  const intern = (d) => { let s = days.get(d); if (s === undefined) { days.set(d, d); s = d; } return s; };

  for (const grid of root.querySelectorAll('.day[data-day]')) {
    const d = intern(grid.dataset.day);
    for (const a of grid.querySelectorAll('a.tile[data-id]')) {
      const img = a.querySelector('img');
      const dur = a.querySelector('.dur');
      records.push({ id: a.dataset.id, r: ratio(+img.getAttribute('width'), +img.getAttribute('height')), d, alt: img.alt, f: a.querySelector('.fav') !== null, v: dur ? dur.textContent : '', l: a.querySelector('.live') !== null });
    }
  }
  let next = pager ? new URL(pager.href, location.href).searchParams.get('cursor') : null;
  let loading = false;
  let failed = false;

  // duration is a video's length as the server's tiles print it (render.go
  // formatDuration): "0:42", "1:02:03".
  function duration(s) {
    const n = Math.round(s || 0);
    const mm = Math.floor(n / 60) % 60, ss = String(n % 60).padStart(2, '0');
    return n >= 3600 ? `${Math.floor(n / 3600)}:${String(mm).padStart(2, '0')}:${ss}` : `${Math.floor(n / 60)}:${ss}`;
  }

  function ratio(w, h) {
    // Extreme panoramas and slivers are cropped (object-fit: cover) to keep
    // rows usable.
    const r = w > 0 && h > 0 ? w / h : 1;
    return Math.min(4, Math.max(0.25, r));
  }

  // The page is ours now: the server's tiles and pager give way to the
  // laid-out rows (the pager stays as a fallback when a fetch fails).
  root.textContent = '';
  root.classList.add('js');
  if (pager) pager.parentElement.hidden = true;
  const status = document.createElement('p');
  status.className = 'muted tl-status';
  status.setAttribute('role', 'status');
  root.after(status);

  // Heights of the headings, as the style sheet draws them.
  function measure(tag, cls) {
    const el = document.createElement(tag);
    el.className = cls;
    el.textContent = 'M';
    root.append(el);
    const h = el.getBoundingClientRect().height;
    el.remove();
    return h;
  }

  // blocks: the laid-out timeline, top to bottom: {k: 'm'|'d'|'r', y, h,
  // s, e (records s..e-1), key} with row heights and each tile's x, w.
  let blocks = [];
  let total = 0;
  let width = 0;
  let monthH = 0;
  let dayH = 0;

  function layout() {
    // The strip starts below the header, however many lines it takes.
    // (A strip on the side on a wide screen, style.css; a bar at the bottom otherwise.)
    if (scrubber) scrubber.style.top = wide.matches ? `${document.querySelector('header')?.offsetHeight ?? 0}px` : '';
    width = root.clientWidth;
    monthH = measure('h2', 'tl-month');
    dayH = measure('h3', 'tl-day');
    const target = parseFloat(getComputedStyle(root).getPropertyValue('--tile')) || 180;
    blocks = [];
    let y = 0;
    let month = '';
    let day = '';
    let s = 0;
    const push = (b) => { b.y = y; y += b.h; blocks.push(b); };
    const row = (s, e, last) => {
      let sum = 0;
      for (let i = s; i < e; i++) sum += records[i].r;
      const gaps = GAP * (e - s - 1);
      // A full row is stretched to the width exactly; a day's last row keeps
      // the target height unless it would overflow.
      let h = (width - gaps) / sum;
      if (last && h > target) h = target;
      push({ k: 'r', h: h + GAP, s, e, rowH: h, key: `r${s}-${e}-${Math.round(h * 100)}` });
    };
    for (let i = 0; i <= records.length; i++) {
      const rec = records[i];
      const endOfDay = !rec || rec.d !== day;
      if (endOfDay && i > s) row(s, i, true);
      if (!rec) break;
      if (endOfDay) {
        s = i;
        day = rec.d;
        const m = rec.d.slice(0, 7);
        if (m !== month) {
          month = m;
          push({ k: 'm', h: monthH, s: i, e: i, key: `m${i}`, month: m });
        }
        push({ k: 'd', h: dayH, s: i, e: i, key: `d${i}` });
      }
      // Close the row once it is as wide as the screen at the target height.
      let sum = 0;
      for (let j = s; j <= i; j++) sum += records[j].r;
      if (sum * target + GAP * (i - s) >= width) {
        row(s, i + 1, false);
        s = i + 1;
      }
    }
    total = y;
    // Room below so the last month laid out can be scrolled to the top
    // (the scrubber jumps there), before its next page has come too.
    let room = 0;
    const last = blocks.findLast((b) => b.k === 'm');
    const header = document.querySelector('header')?.offsetHeight ?? 0;
    if (last) room = Math.max(0, window.innerHeight - header - (total - last.y) - 16);
    root.style.height = `${total + room}px`;
  }

  function monthLabel(m) { return `${MONTHS[+m.slice(5, 7) - 1]} ${m.slice(0, 4)}`; }
  function dayLabel(d) {
    const t = new Date(Date.UTC(+d.slice(0, 4), +d.slice(5, 7) - 1, +d.slice(8, 10)));
    return `${WEEKDAYS[t.getUTCDay()]} ${t.getUTCDate()} ${MONTHS[t.getUTCMonth()]}`;
  }

  function make(b) {
    let el;
    if (b.k === 'm') {
      el = document.createElement('h2');
      el.className = 'tl-month';
      el.textContent = monthLabel(b.month);
      el.dataset.month = b.month;
    } else if (b.k === 'd') {
      el = document.createElement('h3');
      el.className = 'tl-day';
      el.textContent = dayLabel(records[b.s].d);
    } else {
      el = document.createElement('div');
      el.className = 'tl-row';
      el.style.height = `${b.rowH}px`;
      let x = 0;
      for (let i = b.s; i < b.e; i++) {
        const rec = records[i];
        const w = i === b.e - 1 && b.rowH * rec.r + x > width ? width - x : b.rowH * rec.r;
        const a = document.createElement('a');
        a.className = 'tile';
        a.href = `/photo/${rec.id}`;
        a.dataset.id = rec.id;
        a.style.left = `${x}px`;
        a.style.width = `${w}px`;
        const img = document.createElement('img');
        img.src = `/thumbnail/${rec.id}?v=1`;
        img.loading = 'lazy';
        img.decoding = 'async';
        img.alt = rec.alt;
        img.title = rec.alt;
        a.append(img);
        if (rec.f) {
          const star = document.createElement('span');
          star.className = 'fav';
          star.title = 'Favourite';
          star.textContent = '★';
          a.append(star);
        }
        if (rec.v) {
          const badge = document.createElement('span');
          badge.className = 'dur';
          badge.title = 'Video';
          badge.textContent = rec.v;
          a.append(badge);
        }
        if (rec.l) {
          const live = document.createElement('span');
          live.className = 'live';
          live.title = 'Live Photo';
          live.textContent = 'LIVE';
          a.append(live);
        }
        el.append(a);
        x += w + GAP;
      }
    }
    el.style.top = `${b.y}px`;
    el.dataset.key = b.key;
    return el;
  }

  // shown: the blocks in the page now, by key, in order.
  let shown = new Map();

  // first returns the index of the first block ending below y.
  function first(y) {
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (blocks[mid].y + blocks[mid].h <= y) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  function top() { return root.getBoundingClientRect().top + window.scrollY; }

  // render puts in the page the blocks within a screen above and below the
  // visible part, reusing those already there, in document order (so Tab
  // moves through them in reading order).
  function render() {
    const view = window.innerHeight;
    const y0 = window.scrollY - top();
    const from = first(y0 - view);
    const keep = new Map();
    let prev = null;
    for (let i = from; i < blocks.length && blocks[i].y < y0 + 2 * view; i++) {
      const b = blocks[i];
      let el = shown.get(b.key);
      if (el) {
        shown.delete(b.key);
        if (el.style.top !== `${b.y}px`) el.style.top = `${b.y}px`;
      } else {
        el = make(b);
      }
      keep.set(b.key, el);
      const want = prev ? prev.nextSibling : root.firstChild;
      if (el !== want) root.insertBefore(el, want);
      prev = el;
    }
    for (const el of shown.values()) el.remove();
    shown = keep;
    root.dispatchEvent(new CustomEvent('timeline:render'));
    // (A few pixels into the screen below the sticky header: a jump lands
    // on a heading to within a pixel's rounding.)
    current(y0 + (document.querySelector('header')?.offsetHeight ?? 0) + 8);
    if (next && !loading && !failed && y0 + 3 * view > total) more();
  }

  // current marks the scrubber's month of the first row on screen.
  let marked = null;
  function current(y0) {
    if (!scrubber || !blocks.length) return;
    const b = blocks[Math.min(first(Math.max(0, y0)), blocks.length - 1)];
    const rec = records[Math.min(b.s, records.length - 1)];
    const link = rec && scrubber.querySelector(`a.m[data-month="${rec.d.slice(0, 7)}"]`);
    if (link === marked) return;
    if (marked) marked.removeAttribute('aria-current');
    marked = link;
    if (link) {
      link.setAttribute('aria-current', 'true');
      // Keep the mark in sight in a long strip, without moving the page.
      const sr = scrubber.getBoundingClientRect();
      const lr = link.getBoundingClientRect();
      if (lr.top < sr.top || lr.bottom > sr.bottom) scrubber.scrollTop += lr.top - sr.top - sr.height / 2;
      if (lr.left < sr.left || lr.right > sr.right) scrubber.scrollLeft += lr.left - sr.left - sr.width / 2;
    }
  }

  // more fetches the next page of the list and lays it out.
  async function more() {
    loading = true;
    status.textContent = 'Loading older photos…';
    try {
      const res = await fetch(`/api/photos?limit=${PAGE}&cursor=${encodeURIComponent(next)}`, { headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(`${res.status}`);
      const page = await res.json();
      for (const p of page.photos) {
        records.push({ id: p.id, r: ratio(p.thumb_width, p.thumb_height), d: intern(p.taken_at.slice(0, 10)), alt: p.path, f: p.favorite === true, v: p.type === 'video' ? duration(p.duration) : '', l: Boolean(p.live_video_url) });
      }
      next = page.next;
      if (pager && next) pager.href = `/?cursor=${encodeURIComponent(next)}`;
      status.textContent = '';
    } catch (err) {
      // Say so, and leave the reader the pager link to go on with.
      failed = true;
      status.textContent = 'Older photos could not be loaded.';
      if (pager) pager.parentElement.hidden = false;
    }
    loading = false;
    layout();
    render();
  }

  // On resize the rows are laid out again; the photo at the top stays there.
  function relayout() {
    const y0 = window.scrollY - top();
    const b = blocks[first(Math.max(0, y0))];
    const anchor = b ? b.s : 0;
    const into = b ? y0 - b.y : 0;
    layout();
    for (const el of shown.values()) el.remove();
    shown = new Map();
    const nb = blocks.find((x) => x.s >= anchor && x.k === 'r') || blocks[blocks.length - 1];
    if (nb && y0 > 0) window.scrollTo(0, top() + nb.y + Math.min(into, nb.h));
    render();
  }

  // The scrubber: a month already laid out is scrolled to; any other is
  // a page of its own (/?at=YYYY-MM), like without script.
  if (scrubber) {
    scrubber.addEventListener('click', (ev) => {
      const a = ev.target.closest('a[href]');
      if (!a || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
      const m = new URL(a.href, location.href).searchParams.get('at');
      const b = m && blocks.find((x) => x.k === 'm' && x.month === m);
      if (!b) return;
      ev.preventDefault();
      const header = document.querySelector('header')?.offsetHeight ?? 0;
      window.scrollTo({ top: top() + b.y - header, behavior: reduceMotion.matches ? 'auto' : 'smooth' });
      history.replaceState(null, '', a.href);
    });
  }

  let queued = false;
  const schedule = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; render(); });
  };
  window.addEventListener('scroll', schedule, { passive: true });
  let resizeTimer = 0;
  new ResizeObserver(() => {
    if (root.clientWidth === width) return;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(relayout, 100);
  }).observe(root);

  root.timeline = {
    ids: () => records.map((r) => r.id),
    favorite(ids, on) {
      const set = new Set(ids);
      for (const r of records) if (set.has(r.id)) r.f = on;
    },
    // remove takes photos out of the list (archived, trashed): the rows
    // are laid out again, the screen stays where it was.
    remove(ids) {
      const set = new Set(ids);
      const kept = records.filter((r) => !set.has(r.id));
      if (kept.length === records.length) return;
      records.length = 0;
      records.push(...kept);
      layout();
      for (const el of shown.values()) el.remove();
      shown = new Map();
      render();
    },
  };

  layout();
  render();
})();
