// Selection in every grid of photos, and the list a photo was opened from.
//
// Tiles are <a class="tile" data-id> wherever photos are listed (the
// timeline makes and drops its own as it scrolls; timeline.js). This script:
//
//   - remembers, when a tile is opened, the list it was opened from (ids in
//     order, the page's address) in sessionStorage, for the photo page's
//     arrows and Esc (lightbox.js);
//   - lets a person select tiles (a check on each tile, shift for a range in
//     list order, x or Space on a focused tile, Esc to clear) and act on them
//     from a bar at the bottom: favourite, archive, trash (restore on the
//     Trash page), add to an album, share a link, download a zip. It acts
//     through the API (PATCH /api/photos, POST /api/albums/{id}/photos,
//     POST /api/shares, the form POST /download) and updates the tiles in
//     place.
//
// A share link's visitor only gets the remembered list: there is nothing
// they may change, and no zip for a link.
(() => {
  'use strict';
  const LIST = 'shoebox:list'; // read by lightbox.js
  const CHANGED = 'shoebox:changed'; // written by lightbox.js
  const AROUND = 1000; // ids kept either side of the one opened

  const path = location.pathname;
  const visitor = document.body.hasAttribute('data-visitor');
  const timeline = document.getElementById('timeline');
  const tileOf = (el) => (el && el.closest ? el.closest('a.tile[data-id]') : null);
  const tilesOf = (id) => document.querySelectorAll(`a.tile[data-id="${CSS.escape(id)}"]`);

  // order is the page's list of photos in order: the timeline's records
  // (loaded so far, in the page or not), else the tiles.
  function order() {
    if (timeline && timeline.timeline) return timeline.timeline.ids();
    return [...new Set([...document.querySelectorAll('a.tile[data-id]')].map((a) => a.dataset.id))];
  }

  // remember stores the list a tile is opened from (lightbox.js reads it).
  function remember(tile) {
    const id = tile.dataset.id;
    const ids = order();
    const i = ids.indexOf(id);
    const href = tile.getAttribute('href') || '';
    if (i < 0 || !href.endsWith(id)) return;
    const list = { from: path + location.search, base: href.slice(0, href.length - id.length), ids: ids.slice(Math.max(0, i - AROUND), i + AROUND), opened: id };
    try { sessionStorage.setItem(LIST, JSON.stringify(list)); } catch { /* full or off: no arrows */ }
  }

  const plain = (ev) => ev.button === 0 && !ev.ctrlKey && !ev.metaKey && !ev.altKey;

  if (visitor) {
    document.addEventListener('click', (ev) => {
      const tile = tileOf(ev.target);
      if (tile && plain(ev) && !ev.shiftKey) remember(tile);
    });
    return;
  }

  const trashPage = path === '/trash';
  const archivePage = path === '/archive';
  const favoritesPage = path === '/favorites';
  const albumPage = /^\/albums\/\d+$/.test(path);

  const selected = new Set();
  const favs = new Map(); // id → favourite, as the tiles seen say
  let anchor = null; // the last tile toggled: a range starts there

  // ---------------------------------------------------------------- tiles

  // mark gives a tile its check and shows whether it is selected. On the
  // Trash page the form's own checkbox is the check.
  function mark(tile) {
    const id = tile.dataset.id;
    favs.set(id, tile.querySelector('.fav') !== null);
    if (!tile.closest('label.pick') && !tile.querySelector('.check')) {
      const c = document.createElement('span');
      c.className = 'check';
      c.title = 'Select (x)';
      c.setAttribute('aria-hidden', 'true');
      tile.append(c);
    }
    const on = selected.has(id);
    tile.classList.toggle('sel', on);
    const box = tile.closest('label.pick')?.querySelector('input[type=checkbox]');
    if (box) box.checked = on;
  }

  function markAll() { for (const t of document.querySelectorAll('a.tile[data-id]')) mark(t); }

  function set(id, on) {
    if (on) selected.add(id); else selected.delete(id);
    for (const t of tilesOf(id)) mark(t);
  }

  function toggle(id) {
    set(id, !selected.has(id));
    anchor = id;
  }

  // range selects every photo from the anchor to id, in list order.
  function range(id) {
    const ids = order();
    let a = ids.indexOf(anchor);
    let b = ids.indexOf(id);
    if (anchor === null || a < 0 || b < 0) { toggle(id); return; }
    if (a > b) [a, b] = [b, a];
    for (let i = a; i <= b; i++) set(ids[i], true);
    anchor = id;
  }

  function clear() {
    const ids = [...selected];
    selected.clear();
    for (const id of ids) for (const t of tilesOf(id)) mark(t);
    anchor = null;
    update();
  }

  // drop takes photos out of the page's list (archived, trashed, restored).
  function drop(ids) {
    for (const id of ids) {
      selected.delete(id);
      for (const t of tilesOf(id)) (t.closest('label.pick') || t).remove();
    }
    if (timeline && timeline.timeline) timeline.timeline.remove(ids);
  }

  function setFavorite(ids, on) {
    for (const id of ids) {
      favs.set(id, on);
      for (const t of tilesOf(id)) {
        const star = t.querySelector('.fav');
        if (on && !star) {
          const s = document.createElement('span');
          s.className = 'fav';
          s.title = 'Favourite';
          s.textContent = '★';
          t.append(s);
        } else if (!on && star) {
          star.remove();
        }
      }
    }
    if (timeline && timeline.timeline) timeline.timeline.favorite(ids, on);
  }

  // ---------------------------------------------------------------- the bar

  const bar = document.createElement('div');
  bar.className = 'selbar';
  bar.setAttribute('role', 'region');
  bar.setAttribute('aria-label', 'Selection');
  bar.hidden = true;
  const head = document.createElement('div');
  head.className = 'head';
  const count = document.createElement('p');
  count.className = 'count';
  count.setAttribute('aria-live', 'polite');
  const actions = document.createElement('div');
  actions.className = 'actions';
  const panel = document.createElement('div');
  panel.className = 'panel';
  panel.hidden = true;
  const toast = document.createElement('p');
  toast.className = 'toast';
  toast.setAttribute('role', 'status');

  function button(parent, icon, label, run, cls) {
    const b = document.createElement('button');
    b.type = 'button';
    if (cls) b.className = cls;
    const i = document.createElement('span');
    i.className = 'i';
    i.setAttribute('aria-hidden', 'true');
    i.textContent = icon;
    const l = document.createElement('span');
    l.className = 'l';
    l.textContent = label;
    b.append(i, l);
    b.addEventListener('click', run);
    parent.append(b);
    return b;
  }

  let favButton = null;
  if (trashPage) {
    button(actions, '↺', 'Restore', () => patch({ trashed: false }, 'restore', (n) => `Restored ${n}.`), 'restore');
  } else {
    favButton = button(actions, '☆', 'Favourite', favorite, 'favorite');
    button(actions, archivePage ? '⇡' : '⇣', archivePage ? 'Unarchive' : 'Archive', () => patch({ archived: !archivePage }, archivePage ? 'unarchive' : 'archive',
      (n) => (archivePage ? `Unarchived ${n}: back in the timeline.` : `Archived ${n}: the Archive page lists them.`)), 'archive');
    button(actions, '⌫', 'Trash', () => patch({ trashed: true }, 'move to the trash', (n) => `Moved ${n} to the trash.`), 'trash');
    button(actions, '+', 'Album', chooseAlbum, 'album');
    button(actions, '↗', 'Share', shareForm, 'share');
  }
  button(actions, '⤓', 'Download', download, 'download');
  head.append(count);
  button(head, '✕', 'Clear', clear, 'clear');
  bar.append(panel, head, actions);
  document.body.append(bar, toast);

  const photos = (n) => `${n} ${n === 1 ? 'photo' : 'photos'}`;

  function update() {
    const n = selected.size;
    bar.hidden = n === 0;
    document.body.classList.toggle('selecting', n > 0);
    count.textContent = n ? `${n} selected` : '';
    if (!n) closePanel();
    if (favButton) {
      const all = n > 0 && [...selected].every((id) => favs.get(id));
      favButton.querySelector('.i').textContent = all ? '★' : '☆';
      favButton.querySelector('.l').textContent = all ? 'Unfavourite' : 'Favourite';
    }
  }

  let toastTimer = 0;
  function say(msg, error) {
    toast.textContent = msg;
    toast.classList.toggle('error', !!error);
    toast.classList.add('shown');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => toast.classList.remove('shown'), 8000);
  }

  function closePanel() {
    panel.hidden = true;
    panel.textContent = '';
  }

  // api sends JSON and returns the answer's JSON; a refusal throws with
  // the server's reason.
  async function api(method, url, body) {
    const res = await fetch(url, { method, headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    if (!res.ok) throw new Error(data?.error || `${res.status} ${res.statusText}`);
    return data;
  }

  let busy = false;
  async function act(what, run) {
    if (busy || !selected.size) return;
    busy = true;
    bar.setAttribute('aria-busy', 'true');
    try {
      await run([...selected]);
    } catch (err) {
      say(`Could not ${what}: ${err.message}`, true);
    } finally {
      busy = false;
      bar.removeAttribute('aria-busy');
    }
  }

  function favorite() {
    const on = ![...selected].every((id) => favs.get(id));
    act(on ? 'add to favourites' : 'remove from favourites', async (ids) => {
      await api('PATCH', '/api/photos', { ids, favorite: on });
      setFavorite(ids, on);
      if (favoritesPage && !on) drop(ids);
      say(`${on ? 'Added' : 'Removed'} ${photos(ids.length)} ${on ? 'to' : 'from'} favourites.`);
      clear();
    });
  }

  // patch archives, trashes or restores the selection; those photos
  // leave this page's list (an album keeps its archived photos).
  function patch(change, what, done) {
    act(what, async (ids) => {
      await api('PATCH', '/api/photos', { ids, ...change });
      if (!(albumPage && 'archived' in change)) drop(ids);
      say(done(photos(ids.length)));
      clear();
    });
  }

  function heading(text) {
    const h = document.createElement('p');
    h.className = 'ph';
    h.textContent = text;
    return h;
  }

  // chooseAlbum lists the albums the asker may add to (owner or editor).
  async function chooseAlbum() {
    if (!panel.hidden && panel.dataset.kind === 'album') { closePanel(); return; }
    closePanel();
    panel.dataset.kind = 'album';
    panel.hidden = false;
    panel.append(heading('Loading albums…'));
    let albums;
    try {
      albums = (await api('GET', '/api/albums')).albums.filter((a) => a.role === 'owner' || a.role === 'editor');
    } catch (err) {
      panel.textContent = '';
      panel.append(heading(`Albums could not be loaded: ${err.message}`));
      return;
    }
    panel.textContent = '';
    if (!albums.length) {
      const p = heading('No album to add to yet. ');
      const a = document.createElement('a');
      a.href = '/albums';
      a.textContent = 'Make one';
      p.append(a);
      panel.append(p);
      return;
    }
    panel.append(heading('Add to album'));
    const list = document.createElement('div');
    list.className = 'choices';
    for (const al of albums) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = al.name;
      b.dataset.album = al.id;
      b.addEventListener('click', () => act(`add to “${al.name}”`, async (ids) => {
        await api('POST', `/api/albums/${al.id}/photos`, { ids });
        say(`Added ${photos(ids.length)} to “${al.name}”.`);
        clear();
      }));
      list.append(b);
    }
    panel.append(list);
  }

  // shareForm asks for the link's options, makes it and shows its address.
  function shareForm() {
    if (!panel.hidden && panel.dataset.kind === 'share') { closePanel(); return; }
    closePanel();
    panel.dataset.kind = 'share';
    panel.hidden = false;
    const form = document.createElement('form');
    form.className = 'shareopts';
    form.innerHTML = '<p class="ph">Share a link to these photos</p>'
      + '<label>Expires <select name="expires_in"><option value="">never</option><option value="24h">in a day</option><option value="168h">in a week</option><option value="720h">in 30 days</option></select></label>'
      + '<label><input type="checkbox" name="allow_download"> Allow downloading the originals</label>'
      + '<label><input type="checkbox" name="show_metadata"> Show camera, date and place</label>'
      + '<button type="submit">Make link</button>';
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = form.elements;
      act('make a link', async (ids) => {
        const body = { ids, allow_download: f.allow_download.checked, show_metadata: f.show_metadata.checked };
        if (f.expires_in.value) body.expires_in = f.expires_in.value;
        const made = await api('POST', '/api/shares', body);
        const url = new URL(made.url, location.href).href;
        form.remove();
        panel.append(heading(`A link to ${photos(ids.length)}:`));
        const row = document.createElement('div');
        row.className = 'linkrow';
        const input = document.createElement('input');
        input.readOnly = true;
        input.value = url;
        input.className = 'shareurl';
        input.setAttribute('aria-label', 'Link');
        input.addEventListener('focus', () => input.select());
        const copy = document.createElement('button');
        copy.type = 'button';
        copy.textContent = 'Copy';
        copy.addEventListener('click', async () => {
          input.select();
          try { await navigator.clipboard.writeText(url); say('Link copied.'); } catch { say('Select the link and copy it.'); }
        });
        row.append(input, copy);
        panel.append(row);
        say('Link made: anyone with it sees these photos (the Links page lists and revokes it).');
      });
    });
    panel.append(form);
  }

  // download posts the selection as a form: the answer is a zip the
  // browser saves (streamed by the server, no blob here).
  function download() {
    if (!selected.size) return;
    const form = document.createElement('form');
    form.method = 'post';
    form.action = '/download';
    form.hidden = true;
    for (const id of selected) {
      const i = document.createElement('input');
      i.type = 'hidden';
      i.name = 'id';
      i.value = id;
      form.append(i);
    }
    document.body.append(form);
    form.submit();
    form.remove();
    say(`Downloading ${photos(selected.size)} as a zip…`);
  }

  // ---------------------------------------------------------------- input

  document.addEventListener('click', (ev) => {
    // The Trash page's checkboxes select too (and shift picks a range).
    const box = ev.target.closest?.('label.pick input[type=checkbox]');
    if (box) {
      const on = box.checked;
      if (ev.shiftKey && on && anchor !== null) range(box.value);
      else { set(box.value, on); anchor = box.value; }
      update();
      return;
    }
    const tile = tileOf(ev.target);
    if (!tile || !plain(ev)) return;
    const onCheck = ev.target.closest('.check') !== null;
    if (!onCheck && !selected.size) { if (!ev.shiftKey) remember(tile); return; }
    ev.preventDefault();
    if (ev.shiftKey && anchor !== null) range(tile.dataset.id); else toggle(tile.dataset.id);
    update();
  });

  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) return;
    if (ev.key === 'Escape') {
      if (!panel.hidden) closePanel();
      else if (selected.size) clear();
      else return;
      ev.preventDefault();
      return;
    }
    const tile = tileOf(document.activeElement);
    if (!tile || !(ev.key === 'x' || ev.key === 'X' || ev.key === ' ')) return;
    ev.preventDefault();
    if (ev.shiftKey && anchor !== null) range(tile.dataset.id); else toggle(tile.dataset.id);
    update();
  });

  // What the photo page changed (lightbox.js: f, Delete), shown when the
  // list is back, from the browser's cache or not.
  function applyChanged() {
    if (document.querySelector('.photo[data-id]')) return; // a photo page, not the list
    let c = null;
    try { c = JSON.parse(sessionStorage.getItem(CHANGED)); sessionStorage.removeItem(CHANGED); } catch { /* none */ }
    if (!c) return;
    for (const [id, on] of Object.entries(c.favorite || {})) setFavorite([id], on);
    if (favoritesPage) drop(Object.entries(c.favorite || {}).filter(([, on]) => !on).map(([id]) => id));
    if (Array.isArray(c.trashed) && !trashPage) drop(c.trashed);
  }

  if (timeline) timeline.addEventListener('timeline:render', markAll);
  window.addEventListener('pageshow', () => { applyChanged(); markAll(); });
  markAll();
  update();
})();
