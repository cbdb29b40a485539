// Shared by the e2e tests that run one shoebox server of their own
// (organise.test.mjs, upload.test.mjs): the paths, the browser's
// arguments, a small library of real photos, the server's start and stop
// (its embedded PostgreSQL stopped even when a test fails or the run is
// interrupted), and a page's problems.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..');
export const bin = path.join(repo, 'bin', 'shoebox');
export const corpus = path.join(repo, 'testdata', 'corpus');
export const shots = path.join(here, 'screenshots');

export const DESKTOP = { width: 1280, height: 800 };
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const later = (ms) => new Promise((r) => setTimeout(r, ms).unref());
export const tail = (s, n = 40) => s.trimEnd().split('\n').slice(-n).join('\n');

// shoeboxEnv is the environment of every shoebox process: embedded mode,
// no SHOEBOX_* variable from outside.
export function shoeboxEnv() {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  for (const k of Object.keys(env)) if (k.startsWith('SHOEBOX_')) delete env[k];
  return env;
}

// harness is one server's life for a test file. g is that file's shared
// state: g.name (temporary folder's name), g.librarySize (photos to index
// before the tests start), g.indexTimeoutMs; the harness adds g.tmp,
// g.library, g.dataDir, g.server, and g.browser is closed by cleanup.
export function harness(g) {
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
    const picked = found.sort().slice(0, g.librarySize);
    assert.equal(picked.length, g.librarySize, `wallpaper previews under ${corpus}/deb: ${found.length}`);
    g.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `shoebox-e2e-${g.name}-`));
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


  // startServer runs bin/shoebox serve on 127.0.0.1:0, waits for its address
  // and /healthz, then for the library to be indexed. extraEnv adds
  // SHOEBOX_* variables of the test's own.
  async function startServer(extraEnv = {}) {
    assert.ok(fs.existsSync(bin), `${bin} is missing: run make build first`);
    const s = { proc: null, exit: null, log: '', baseURL: null, pgData: path.join(g.dataDir, 'pg', 'data') };
    g.server = s;
    s.proc = spawn(bin, ['serve', '--library', g.library, '--data', g.dataDir, '--addr', '127.0.0.1:0'],
      { cwd: repo, env: { ...shoeboxEnv(), ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
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
    return waitFor('/api/stats', g.indexTimeoutMs, async (res) => {
      if (!res.ok) return false;
      const st = await res.json();
      return st.queue?.pending === 0 && st.photos >= g.librarySize ? st : false;
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

  return { makeLibrary, startServer, waitFor, stopServer, cleanup, postgresLeft, stopPostgres };
}

// ---------------------------------------------------------------- browser

// watch collects console errors, uncaught exceptions, failed requests and
// HTTP error answers.
export function watch(page) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return problems;
}
