// Uploads from the gallery: files dropped anywhere on the page or picked
// with the header's Upload button go to /api/uploads/ with the tus
// protocol (create with POST, send chunks with PATCH; after a failed chunk
// ask with HEAD how far the server got and go on from there). The address
// of each upload in progress is kept in localStorage under the file's
// name, size and date, so dropping the same file again after an
// interruption (even after a reload) resumes it. Each file gets a row with
// its progress and, when refused, the server's reason.
(() => {
  'use strict';
  const input = document.getElementById('upload-input');
  const panel = document.getElementById('uploads');
  if (!input || !panel) return;
  const list = panel.querySelector('ol');
  const CHUNK = 8 * 1024 * 1024; // under any proxy's body limit
  const RETRIES = 5;
  const TUS = { 'Tus-Resumable': '1.0.0' };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const b64 = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
  const keyOf = (f) => `shoebox.upload:${f.name}:${f.size}:${f.lastModified}`;
  let kept = 0;

  // reason is the text of a refusal: tus answers "ERR_CODE: message".
  const reason = (status, text) => {
    const t = (text || '').trim().replace(/^ERR_[A-Z_]+: /, '');
    if (t) return t;
    return { 413: 'too large for this server', 507: 'over your upload quota' }[status] || `error ${status}`;
  };

  function row(f) {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = f.name;
    const bar = document.createElement('progress');
    bar.max = f.size || 1;
    bar.value = 0;
    const state = document.createElement('span');
    state.className = 'state';
    state.textContent = 'waiting';
    li.append(name, bar, state);
    list.append(li);
    panel.hidden = false;
    return {
      progress(n) { bar.value = n; state.textContent = `${Math.floor((100 * n) / (f.size || 1))}%`; },
      done(text) { bar.value = bar.max; li.className = 'done'; state.textContent = text; },
      fail(text) { li.className = 'failed'; state.textContent = text; },
    };
  }

  // patch sends one chunk; it resolves with the XHR (any status) and
  // rejects when the connection failed.
  function patch(url, blob, offset, onProgress) {
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open('PATCH', url);
      x.setRequestHeader('Tus-Resumable', '1.0.0');
      x.setRequestHeader('Upload-Offset', String(offset));
      x.setRequestHeader('Content-Type', 'application/offset+octet-stream');
      x.upload.onprogress = (e) => onProgress(e.loaded);
      x.onload = () => resolve(x);
      x.onerror = () => reject(new Error('connection lost'));
      x.onabort = () => reject(new Error('aborted'));
      x.send(blob);
    });
  }

  async function offsetOf(url) {
    const r = await fetch(url, { method: 'HEAD', headers: TUS, credentials: 'same-origin' });
    await r.text();
    if (!r.ok) return -1;
    return Number(r.headers.get('Upload-Offset'));
  }

  async function send(f, ui) {
    const key = keyOf(f);
    let url = localStorage.getItem(key);
    let offset = url ? await offsetOf(url).catch(() => -1) : -1;
    if (offset < 0) {
      localStorage.removeItem(key);
      const r = await fetch('/api/uploads/', {
        method: 'POST', credentials: 'same-origin',
        headers: { ...TUS, 'Upload-Length': String(f.size), 'Upload-Metadata': `filename ${b64(f.name)}` },
      });
      const text = await r.text(); // read to the end, so no response is left open
      if (r.status !== 201) throw new Error(reason(r.status, text));
      url = new URL(r.headers.get('Location'), location.href).href;
      localStorage.setItem(key, url);
      offset = 0;
    }
    ui.progress(offset);
    for (let failures = 0; ;) {
      let x = null;
      try {
        x = await patch(url, f.slice(offset, Math.min(offset + CHUNK, f.size)), offset, (n) => ui.progress(offset + n));
      } catch (e) { /* the connection: ask how far it got, below */ }
      if (x && x.status === 204) {
        offset = Number(x.getResponseHeader('Upload-Offset'));
        failures = 0;
        if (offset >= f.size) {
          localStorage.removeItem(key);
          return x.getResponseHeader('Shoebox-Duplicate') === 'true' ? 'already in your library' : 'uploaded';
        }
        continue;
      }
      if (x && x.status < 500 && x.status !== 409) {
        localStorage.removeItem(key);
        throw new Error(reason(x.status, x.responseText));
      }
      if (++failures > RETRIES) throw new Error('interrupted: add the file again to resume');
      await sleep(300 * failures);
      const at = await offsetOf(url).catch(() => -1);
      if (at < 0) {
        localStorage.removeItem(key);
        throw new Error('the server lost this upload: add the file again');
      }
      offset = at;
    }
  }

  async function upload(files) {
    const jobs = [...files].map((f) => ({ f, ui: row(f) }));
    for (const { f, ui } of jobs) { // one at a time: the order they were given
      try {
        ui.done(await send(f, ui));
        kept++;
      } catch (e) {
        ui.fail(e.message);
      }
    }
    if (kept) panel.querySelector('.reload').hidden = false;
  }

  input.addEventListener('change', () => {
    if (input.files.length) upload(input.files);
    input.value = '';
  });

  // Drop anywhere on the page.
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
  document.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    depth++;
    document.body.classList.add('dropping');
  });
  document.addEventListener('dragleave', () => {
    if (depth > 0 && --depth === 0) document.body.classList.remove('dropping');
  });
  document.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
  document.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    document.body.classList.remove('dropping');
    if (e.dataTransfer.files.length) upload(e.dataTransfer.files);
  });
  panel.querySelector('.close').addEventListener('click', () => {
    panel.hidden = true;
    list.replaceChildren();
  });
})();
