// Starts what the end-to-end tests need: a real firststep-adapter (release
// build) on a fresh store and a random port, serving the release-built widget
// and the demo page; Debian's Chromium, driven by playwright-core; and, for
// the tests behind a TLS proxy, Debian's Caddy.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Starts the adapter with `practiceFile` (the tests' practice, open around
 * the clock, unless told), plus `extraConfig` (TOML text) if given, and with
 * the keys of `server` (name → value, written as TOML) set in its [server]
 * table, replacing the file's own (`listen` also on the command line, which
 * wins), and `env` added to its environment;
 * resolves to { url, stop }.
 */
export async function startAdapter(extraConfig = '', practiceFile = 'e2e/practice.toml', server = {}, env = {}) {
  const folder = mkdtempSync(join(tmpdir(), 'firststep-e2e-'));
  let practice = readFileSync(join(root, practiceFile), 'utf8')
    .replace('"../dist"', JSON.stringify(join(root, 'dist')))
    .replace('"../demo"', JSON.stringify(join(root, 'demo')));
  if (Object.keys(server).length > 0) practice = withServerKeys(practice, server);
  const config = join(folder, 'practice.toml');
  writeFileSync(config, `${practice}\n${extraConfig}`);
  const child = spawn(join(root, 'target', 'release', 'firststep-adapter'),
    ['serve', '--config', config, '--store', join(folder, 'bookings.sqlite3'), '--listen', server.listen ?? '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FIRSTSTEP_LOG: 'warn', ...env } });
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

/** `practice` (TOML text) with the keys of `server` set in its [server] table. */
function withServerKeys(practice, server) {
  const start = practice.search(/^\[server\]\n/m);
  if (start < 0) throw new Error('the practice file has no [server] table');
  const bodyStart = start + '[server]\n'.length;
  const next = practice.slice(bodyStart).search(/^\[/m);
  const bodyEnd = next < 0 ? practice.length : bodyStart + next;
  let table = practice.slice(bodyStart, bodyEnd);
  for (const [key, value] of Object.entries(server)) {
    // JSON's numbers, strings and arrays of them are TOML too.
    table = `${key} = ${JSON.stringify(value)}\n${table.replace(new RegExp(`^${key}\\s*=.*\n`, 'm'), '')}`;
  }
  return practice.slice(0, bodyStart) + table + practice.slice(bodyEnd);
}

/** Launches headless Chromium as this machine allows it (root, no network), with `extraArgs` if given. */
export function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', ...extraArgs],
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
export function freePort() {
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

/**
 * Starts Debian's Caddy with the site of deploy/Caddyfile (the one operators
 * install) in front of the adapter at `upstream` (`http://127.0.0.1:PORT`),
 * as https://booking.localhost on a free port of 127.0.0.1, with a
 * certificate from Caddy's own local CA (`tls internal`). Nothing on the
 * machine changes: Caddy's data and config stay in a temp folder, its root is
 * installed in no trust store (`skip_install_trust`), and it has no admin
 * endpoint and no port-80 redirect server. Resolves to { url, host, port,
 * root, intermediate (the local CA's certificates, PEM), stop }.
 */
export async function startCaddy(upstream) {
  const folder = mkdtempSync(join(tmpdir(), 'firststep-caddy-'));
  const [port, httpPort] = [await freePort(), await freePort()];
  const host = 'booking.localhost';
  const site = readFileSync(join(root, 'deploy', 'Caddyfile'), 'utf8');
  const local = replaceOnce(replaceOnce(site,
    'booking.example.org {', `https://${host}:${port} {\n\tbind 127.0.0.1\n\ttls internal\n`),
  'reverse_proxy 127.0.0.1:8787 {', `reverse_proxy ${new URL(upstream).host} {`);
  const caddyfile = join(folder, 'Caddyfile');
  writeFileSync(caddyfile, [
    '{', '\tadmin off', '\tskip_install_trust', '\tauto_https disable_redirects',
    `\thttp_port ${httpPort}`, `\thttps_port ${port}`, '\tservers {', '\t\tprotocols h1 h2', '\t}', '}', '', local,
  ].join('\n'));
  const home = join(folder, 'home');
  mkdirSync(home);
  const child = spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HOME: home, XDG_DATA_HOME: join(folder, 'data'), XDG_CONFIG_HOME: join(folder, 'config') },
  });
  let log = '';
  child.stderr.on('data', (chunk) => { log = (log + chunk).slice(-20_000); });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(folder, { recursive: true, force: true });
  };

  // Ready once it answers over TLS with a certificate its own CA vouches for.
  const authority = join(folder, 'data', 'caddy', 'pki', 'authorities', 'local');
  const url = `https://${host}:${port}`;
  for (let i = 0; ; i++) {
    try {
      if (child.exitCode !== null) throw new Error(`caddy exited (${child.exitCode}): ${log}`);
      const [root, intermediate] = ['root.crt', 'intermediate.crt']
        .map((name) => readFileSync(join(authority, name), 'utf8'));
      const { status } = await httpsCall({ host, port, ca: root, path: '/healthz' });
      if (status !== 200) throw new Error(`GET /healthz through caddy answered ${status}`);
      return { url, host, port, root, intermediate, stop };
    } catch (error) {
      if (i > 150 || child.exitCode !== null) {
        await stop();
        throw new Error(`caddy did not come up: ${error.message}\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** `text` with `from` replaced by `to`; throws unless `from` is there exactly once. */
function replaceOnce(text, from, to) {
  if (text.split(from).length !== 2) throw new Error(`expected exactly one "${from}"`);
  return text.replace(from, () => to);
}

/**
 * One HTTPS request to `host`:`port` on 127.0.0.1 (the name is only for SNI,
 * Host and the certificate check, against `ca` alone), from `localAddress`
 * if given, on a fresh connection; resolves to { status, headers, body }.
 */
export function httpsCall({ host, port, ca, path, method = 'GET', headers = {}, body, localAddress }) {
  return exchange(httpsRequest({
    host: '127.0.0.1', port, servername: host, ca, path, method, localAddress, agent: false,
    headers: { host: `${host}:${port}`, ...headers }, timeout: 10_000,
  }), body);
}

/**
 * One plain HTTP request to `url` (an origin, like the adapter's) from
 * `localAddress` if given, on a fresh connection; resolves to { status, headers, body }.
 */
export function httpCall(url, { path, method = 'GET', headers = {}, body, localAddress }) {
  const { hostname, port } = new URL(url);
  return exchange(httpRequest({ host: hostname, port, path, method, localAddress, agent: false, headers,
    timeout: 10_000 }), body);
}

/** Sends `outgoing` with `body`; resolves to the answer as { status, headers, body } (text). */
function exchange(outgoing, body) {
  return new Promise((resolve, reject) => {
    outgoing.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: text }));
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${outgoing.method} ${outgoing.path} timed out`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** What tells the stand-ins apart: where their API is, and how an event names its booking. */
const standIns = {
  // Google: the event id is the booking id's base32hex; the id itself is in a private property.
  google: { base: /api_base = "(http:\/\/[^/"]+)/, events: (answer) => answer.items,
    booking: (event) => event.extendedProperties?.private?.firststepBooking },
  // Microsoft Graph: the booking id is the event's transactionId.
  microsoft: { base: /graph_base = "(http:\/\/[^/"]+)/, events: (answer) => answer.value,
    booking: (event) => event.transactionId },
};

/**
 * Starts the tests' stand-in for Google Calendar or Microsoft Graph (`service`
 * is 'google' or 'microsoft': the adapter's example `google_standin` or
 * `microsoft_standin`, built by `cargo build -p firststep-adapter --examples`);
 * resolves to { calendarTable, event(bookingId), stop } — `calendarTable` is
 * the `[calendar]` TOML that points an adapter at it, already connected.
 */
export async function startCalendarStandIn(service) {
  const kind = standIns[service];
  const folder = mkdtempSync(join(tmpdir(), `firststep-${service}-`));
  const binary = join(root, 'target', 'debug', 'examples', `${service}_standin`);
  const child = spawn(binary, [folder], { stdio: ['ignore', 'pipe', 'inherit'] });
  const calendarTable = await new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('ready\n')) resolve(stdout.replace('ready\n', ''));
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`the ${service} stand-in exited (${code}); is ${binary} built?`)));
  });
  const base = calendarTable.match(kind.base)[1];
  return {
    calendarTable,
    /** The stand-in's event for a booking, or null. */
    async event(bookingId) {
      const answer = await (await fetch(`${base}/standin/events`)).json();
      return kind.events(answer).find((event) => kind.booking(event) === bookingId) ?? null;
    },
    async stop() {
      child.kill();
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/**
 * Starts a real SMTP server (aiosmtpd, from the project's .venv) on a free
 * loopback port, keeping what it receives in a maildir; resolves to
 * { port, received(), waitFor(match, what), stop }. `received()` is every
 * email so far as { to, subject, body } (the text part, decoded).
 */
export async function startSmtp() {
  const folder = mkdtempSync(join(tmpdir(), 'firststep-smtp-'));
  const port = await freePort();
  const child = spawn(join(root, '.venv', 'bin', 'python'),
    ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', join(folder, 'mail')],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForPort(port, 'aiosmtpd');
  const received = () => {
    const box = join(folder, 'mail', 'new');
    let files = [];
    try { files = readdirSync(box); } catch { return []; }
    return files.map((name) => join(box, name))
      .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
      .map((path) => readMail(readFileSync(path, 'latin1')));
  };
  return {
    port,
    received,
    /** The first email `match` accepts, waiting up to `seconds` for it. */
    async waitFor(match, what, seconds = 20) {
      for (let i = 0; i < seconds * 10; i++) {
        const found = received().find(match);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no email ${what} within ${seconds} s; got: ${received().map((m) => m.subject).join(' | ')}`);
    },
    async stop() {
      child.kill();
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port, what) {
  for (let i = 0; i < 100; i++) {
    const open = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not start on port ${port}`);
}

/** One email as the adapter writes it (lettre): its To, Subject and text part, decoded. */
function readMail(raw) {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const headers = parseHeaders(head);
  let body = rest.join('\n\n');
  let encoding = headers['content-transfer-encoding'];
  const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
  if (boundary) {
    // The first text/plain part, at any depth of multipart/alternative or /mixed.
    const text = body.split(`--${boundary}`).map((part) => part.replace(/^\r?\n/, ''))
      .map((part) => readMail(part))
      .find((part) => part.type.startsWith('text/plain') || (part.type === 'multipart' && part.body));
    return { to: headers.to ?? '', subject: decodeWords(headers.subject ?? ''), body: text?.body ?? '', type: 'multipart' };
  }
  if (/quoted-printable/i.test(encoding ?? '')) {
    body = Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi,
      (_, hex) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');
  } else if (/base64/i.test(encoding ?? '')) {
    body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  } else {
    body = Buffer.from(body, 'latin1').toString('utf8');
  }
  return { to: headers.to ?? '', subject: decodeWords(headers.subject ?? ''), body: body.replace(/\r\n/g, '\n'),
    type: headers['content-type'] ?? 'text/plain' };
}

function parseHeaders(head) {
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] ??= line.slice(colon + 1).trim();
  }
  return headers;
}

/** RFC 2047 encoded words (=?utf-8?b?…?= and =?utf-8?q?…?=), as subjects carry non-ASCII. */
function decodeWords(text) {
  return text.replace(/\?=\s+=\?/g, '?==?').replace(/=\?([^?]+)\?([bq])\?([^?]*)\?=/gi, (_, charset, kind, data) =>
    (kind.toLowerCase() === 'b'
      ? Buffer.from(data, 'base64')
      : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (__, hex) => String.fromCharCode(parseInt(hex, 16))), 'latin1'))
      .toString('utf8'));
}

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/**
 * Runs axe-core on the page's widget and fails on any violation, naming
 * `state`. The page's context must bypass CSP (a policy would refuse the
 * injected script).
 */
export async function audit(page, state) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => {
    const { violations } = await window.axe.run(document.querySelector('firststep-booking'));
    return violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  });
  assert.deepEqual(result, [], `axe violations in the ${state} state`);
}

/**
 * The focused element, inside the shadow root too: its tag, id, type, text,
 * class, checked, label, and name (its aria-label, else its text).
 */
export function focused(page) {
  return page.evaluate(() => {
    let element = document.activeElement;
    while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
    const label = element?.id && element.getRootNode().querySelector(`label[for="${element.id}"]`);
    return { tag: element?.tagName, id: element?.id, type: element?.type, checked: element?.checked,
      text: element?.textContent?.trim(), label: label?.textContent, className: element?.className,
      name: element?.getAttribute('aria-label') ?? element?.textContent?.trim() };
  });
}

/** Presses Tab until the focused element (see `focused`) matches. */
export async function tabTo(page, description, matches) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    if (matches(now)) return now;
  }
  throw new Error(`Tab never reached ${description}`);
}

/** Fills in the widget's form with the keyboard alone (name, email, consent) and sends it. */
export async function sendFormWithKeyboard(page, name, email) {
  await tabTo(page, 'the name field', (f) => f.id === 'fs-name');
  await page.keyboard.type(name);
  await tabTo(page, 'the email field', (f) => f.id === 'fs-email');
  await page.keyboard.type(email);
  await tabTo(page, 'the consent box', (f) => f.id === 'fs-consent');
  await page.keyboard.press('Space');
  await tabTo(page, 'the send button', (f) => f.type === 'submit');
  await page.keyboard.press('Enter');
}
