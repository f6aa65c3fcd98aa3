// Starts what the end-to-end tests need: a real firststep-adapter (release
// build) on a fresh store and a random port, serving the release-built widget
// and the demo page; and Debian's Chromium, driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Starts the adapter with `practiceFile` (the tests' practice, open around
 * the clock, unless told), plus `extraConfig` (TOML text) if given; resolves
 * to { url, stop }.
 */
export async function startAdapter(extraConfig = '', practiceFile = 'e2e/practice.toml') {
  const folder = mkdtempSync(join(tmpdir(), 'firststep-e2e-'));
  const practice = readFileSync(join(root, practiceFile), 'utf8')
    .replace('"../dist"', JSON.stringify(join(root, 'dist')))
    .replace('"../demo"', JSON.stringify(join(root, 'demo')));
  const config = join(folder, 'practice.toml');
  writeFileSync(config, `${practice}\n${extraConfig}`);
  const child = spawn(join(root, 'target', 'release', 'firststep-adapter'),
    ['serve', '--config', config, '--store', join(folder, 'bookings.sqlite3'), '--listen', '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FIRSTSTEP_LOG: 'warn' } });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const url = await new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const found = stdout.match(/listening on (http:\/\/\S+)/);
      if (found) resolve(found[1]);
    });
    child.on('exit', (code) => reject(new Error(`adapter exited (${code}): ${stderr}`)));
  });
  return {
    url,
    async stop() {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Launches headless Chromium as this machine allows it (root, no network). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
}

/** A page that fails the test on any console error or uncaught exception. */
export async function strictPage(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
  page.on('pageerror', (error) => problems.push(String(error)));
  return { context, page, problems };
}

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a real Radicale (from the project's .venv) with one user and an
 * empty calendar; resolves to { calendarUrl, user, password, get(name), stop }.
 */
export async function startRadicale() {
  const folder = mkdtempSync(join(tmpdir(), 'firststep-radicale-'));
  const port = await freePort();
  const [user, password] = ['practice', 'e2e-password'];
  writeFileSync(join(folder, 'users'), `${user}:${password}\n`);
  writeFileSync(join(folder, 'config'), [
    '[server]', `hosts = 127.0.0.1:${port}`,
    '[auth]', 'type = htpasswd', `htpasswd_filename = ${join(folder, 'users')}`, 'htpasswd_encryption = plain',
    '[storage]', `filesystem_folder = ${join(folder, 'collections')}`,
    '[rights]', 'type = owner_only', '[logging]', 'level = warning', '',
  ].join('\n'));
  const child = spawn(join(root, '.venv', 'bin', 'radicale'), ['--config', join(folder, 'config')],
    { stdio: 'ignore' });
  const auth = { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
  const calendarUrl = `http://127.0.0.1:${port}/${user}/consultations/`;
  for (let i = 0; ; i++) {
    try {
      const made = await fetch(calendarUrl, { method: 'MKCALENDAR', headers: auth });
      if (made.ok) break;
      throw new Error(`MKCALENDAR answered ${made.status}`);
    } catch (error) {
      if (i > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    calendarUrl, user, password,
    async get(name) {
      const response = await fetch(`${calendarUrl}${name}.ics`, { headers: auth });
      return response.ok ? response.text() : null;
    },
    async stop() {
      child.kill();
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
