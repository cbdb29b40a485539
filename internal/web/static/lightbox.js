// The photo page as a lightbox. select.js remembers, when a tile is
// opened, the list it came from (its ids in order, the list's address);
// here ←/→ (and the arrows drawn beside the photo, and a swipe) go to the
// neighbours in that list, Esc goes back to the list, f marks a favourite,
// Delete moves the photo to the trash, ? lists the keys, and the
// neighbours' previews are fetched ahead. Opened any other way (a link, a
// new tab), the page has no neighbours and Esc goes to the gallery.
//
// Going from photo to photo replaces the history entry, so the list stays
// one step back: Esc is history.back(), which keeps the list's scroll.
// Without script the page is the plain photo page.
(() => {
  'use strict';
  const LIST = 'shoebox:list';
  const CHANGED = 'shoebox:changed'; // read by select.js on the list

  const photo = document.querySelector('.photo[data-id]');
  if (!photo) return;
  const id = photo.dataset.id;
  const base = photo.dataset.base; // "/photo/" or "/s/KEY/p/"
  const home = photo.dataset.home; // "/" or "/s/KEY"
  const stage = photo.querySelector('.stage');

  const read = (key) => { try { return JSON.parse(sessionStorage.getItem(key)); } catch { return null; } };
  const write = (key, v) => { try { sessionStorage.setItem(key, JSON.stringify(v)); } catch { /* off: no memory */ } };

  let list = read(LIST);
  if (!list || list.base !== base || !Array.isArray(list.ids) || !list.ids.includes(id)) list = null;
  // Opened from the list (or reached from a neighbour): the list is one
  // step back in history; this entry says so, also after a reload.
  if (list && list.opened === id) {
    history.replaceState({ ...(history.state || {}), lightbox: true }, '');
    list.opened = null;
    write(LIST, list);
  }
  const fromList = list !== null && history.state?.lightbox === true;
  const i = list ? list.ids.indexOf(id) : -1;
  const prev = i > 0 ? list.ids[i - 1] : null;
  const next = list && i < list.ids.length - 1 ? list.ids[i + 1] : null;
  const back = list ? list.from : home;

  // What happened on the photo before (Delete), said here.
  const status = document.createElement('p');
  status.className = 'toast';
  status.setAttribute('role', 'status');
  document.body.append(status);
  function say(msg) {
    status.textContent = msg;
    status.classList.add('shown');
    setTimeout(() => status.classList.remove('shown'), 6000);
  }
  if (list && list.flash) {
    say(list.flash);
    delete list.flash;
    write(LIST, list);
  }

  // go opens a neighbour in place of this page.
  function go(to) {
    if (!to) return;
    list.opened = to;
    write(LIST, list);
    location.replace(base + to);
  }

  function leave() {
    if (fromList) history.back();
    else location.href = back;
  }

  // The bar above the photo and the arrows beside it: links, so they work
  // by mouse and touch (and open in a new tab as links do).
  const bar = document.createElement('nav');
  bar.className = 'lb-bar';
  bar.setAttribute('aria-label', 'Photos');
  const up = link('lb-back', back, list ? '← Back to the list' : '← All photos', leave);
  bar.append(up);
  if (list) {
    const pos = document.createElement('span');
    pos.className = 'muted lb-pos';
    pos.textContent = `${i + 1} of ${list.ids.length}`;
    bar.append(pos);
  }
  const keysButton = document.createElement('button');
  keysButton.type = 'button';
  keysButton.className = 'lb-keys';
  keysButton.textContent = '? Keys';
  keysButton.addEventListener('click', help);
  bar.append(keysButton);
  document.querySelector('.photo-back')?.remove(); // the bar's link says it
  photo.before(bar);
  if (prev) stage.append(link('lb-prev', base + prev, '‹', () => go(prev), 'Previous photo', 'prev'));
  if (next) stage.append(link('lb-next', base + next, '›', () => go(next), 'Next photo', 'next'));

  function link(cls, href, text, run, label, rel) {
    const a = document.createElement('a');
    a.className = cls;
    a.href = href;
    a.textContent = text;
    if (label) { a.setAttribute('aria-label', label); a.title = label; }
    if (rel) a.rel = rel;
    a.addEventListener('click', (ev) => {
      if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
      ev.preventDefault();
      run();
    });
    return a;
  }

  // The neighbours' previews, fetched ahead (the next first).
  for (const n of [next, prev]) {
    if (!n) continue;
    const img = new Image();
    img.decoding = 'async';
    img.src = `/preview/${n}?v=1`;
  }

  // ------------------------------------------------------------- the keys

  const dialog = document.createElement('dialog');
  dialog.className = 'keys';
  dialog.setAttribute('aria-labelledby', 'keys-title');
  const keys = [['←  →', 'previous and next photo of the list'], ['Esc', 'back to the list']];
  if (photo.querySelector('form.state')) keys.push(['f', 'favourite, or not'], ['Delete', 'move to the trash']);
  keys.push(['?', 'this list of keys'], ['swipe', 'previous and next, on a touch screen']);
  dialog.innerHTML = '<h2 id="keys-title">Keys</h2><dl></dl><form method="dialog"><button type="submit">Close</button></form>';
  const dl = dialog.querySelector('dl');
  for (const [k, what] of keys) {
    const dt = document.createElement('dt');
    const kbd = document.createElement('kbd');
    kbd.textContent = k;
    dt.append(kbd);
    const dd = document.createElement('dd');
    dd.textContent = what;
    dl.append(dt, dd);
  }
  document.body.append(dialog);
  function help() { if (!dialog.open) dialog.showModal(); }

  async function patch(change) {
    const res = await fetch(`/api/photos/${encodeURIComponent(id)}`, { method: 'PATCH', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(change) });
    const text = await res.text(); // read to the end: the page may go next
    if (!res.ok) {
      let msg = `${res.status}`;
      try { msg = JSON.parse(text).error || msg; } catch { /* not JSON */ }
      throw new Error(msg);
    }
  }

  // noteChange tells the list what changed here (select.js applies it
  // when the list shows again, even from the browser's cache).
  function noteChange(f) {
    const c = read(CHANGED) || {};
    f(c);
    write(CHANGED, c);
  }

  let busy = false;
  async function favorite() {
    const b = photo.querySelector('form.state button[name=favorite]');
    if (!b || busy) return;
    const on = b.value === 'true';
    busy = true;
    try {
      await patch({ favorite: on });
      b.value = on ? 'false' : 'true';
      b.textContent = on ? '★ Favourite' : '☆ Favourite';
      b.setAttribute('aria-pressed', String(on));
      noteChange((c) => { c.favorite = { ...(c.favorite || {}), [id]: on }; });
      say(on ? 'Marked as a favourite.' : 'No longer a favourite.');
    } catch (err) {
      say(`Could not change the favourite: ${err.message}`);
    } finally {
      busy = false;
    }
  }

  async function trash() {
    const b = photo.querySelector('form.state button[name=trashed][value=true]');
    if (!b || busy) return;
    busy = true;
    try {
      await patch({ trashed: true });
    } catch (err) {
      say(`Could not move it to the trash: ${err.message}`);
      busy = false;
      return;
    }
    noteChange((c) => { c.trashed = [...new Set([...(c.trashed || []), id])]; });
    if (!list) { location.href = back; return; }
    // On to the next photo (or the one before), the list without this one.
    const to = next || prev;
    list.ids.splice(i, 1);
    list.flash = 'The photo before was moved to the trash (the Trash page restores it).';
    write(LIST, list);
    if (to) go(to); else leave();
  }

  document.addEventListener('keydown', (ev) => {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || dialog.open) return;
    if (ev.target.closest?.('input, textarea, select, [contenteditable]')) return;
    switch (ev.key) {
      case 'ArrowLeft': if (!prev) return; go(prev); break;
      case 'ArrowRight': if (!next) return; go(next); break;
      case 'Escape': leave(); break;
      case 'f': favorite(); break;
      case 'Delete': trash(); break;
      case '?': help(); break;
      default: return;
    }
    ev.preventDefault();
  });

  // A swipe across the photo: left for the next, right for the one before.
  let touch = null;
  stage.addEventListener('touchstart', (ev) => {
    touch = ev.touches.length === 1 ? { x: ev.touches[0].clientX, y: ev.touches[0].clientY } : null;
  }, { passive: true });
  stage.addEventListener('touchend', (ev) => {
    if (!touch || ev.changedTouches.length !== 1) return;
    const dx = ev.changedTouches[0].clientX - touch.x;
    const dy = ev.changedTouches[0].clientY - touch.y;
    touch = null;
    if (Math.abs(dx) < 60 || Math.abs(dx) < 1.5 * Math.abs(dy)) return;
    go(dx < 0 ? next : prev);
  }, { passive: true });
})();
