// The adapter as operators run it (docs/deploy.md): behind Debian's Caddy with
// deploy/Caddyfile, over HTTPS from Caddy's local CA, trusting Caddy alone to
// name the visitor (server.trusted_proxies). Visitors are told apart by the
// loopback address their socket is bound to (127.0.0.2, 127.0.0.3).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { startAdapter, startCaddy, launchBrowser, strictPage, httpsCall, httpCall } from './harness.mjs';

const perMinute = 2;
let adapter, caddy, browser;
before(async () => {
  adapter = await startAdapter('', 'e2e/practice.toml',
    { bookings_per_minute: perMinute, trusted_proxies: ['127.0.0.1/32'], metrics: true });
  caddy = await startCaddy(adapter.url);
  browser = await launchBrowser([trustOnly(caddy.intermediate), resolveToLoopback(caddy.host)]);
});
after(async () => { await browser?.close(); await caddy?.stop(); await adapter?.stop(); });

/**
 * The Chromium flag that accepts certificates issued by this CA (PEM) and no
 * other unknown one. Chromium matches the key hashes against the chain the
 * server sends (leaf and intermediate, not the root): so, the intermediate's.
 */
function trustOnly(certificate) {
  const key = new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' });
  return `--ignore-certificate-errors-spki-list=${createHash('sha256').update(key).digest('base64')}`;
}

const resolveToLoopback = (host) => `--host-resolver-rules=MAP ${host} 127.0.0.1`;

const widget = (page) => page.locator('firststep-booking');

test('the demo page loads over HTTPS through Caddy, and a visitor books', async () => {
  const { page, problems, context } = await strictPage(browser);
  const response = await page.goto(caddy.url);
  assert.equal(response.status(), 200);
  assert.equal(new URL(page.url()).protocol, 'https:');
  const headers = response.headers();
  assert.match(headers['strict-transport-security'], /max-age=31536000/);
  assert.equal(headers.server, undefined, 'Caddy does not name itself');
  assert.match(headers['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/, 'the adapter\'s own headers pass');
  await page.evaluate(() => document.querySelector('firststep-booking')
    .addEventListener('firststep:booking', (event) => { window.booked = event.detail; }));

  await widget(page).locator('.fs-day').nth(1).click();
  await widget(page).locator('.fs-time').nth(2).click();
  await widget(page).getByLabel('Name').fill('Sam Lee');
  await widget(page).getByLabel('Email').fill('sam@example.org');
  await widget(page).getByRole('checkbox').check();
  await widget(page).getByRole('button', { name: 'Send request' }).click();

  await widget(page).getByRole('heading', { name: 'Request sent' }).waitFor();
  assert.equal((await page.evaluate(() => window.booked)).status, 'pending');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a browser that does not trust Caddy\'s local CA refuses the page', async () => {
  const untrusting = await launchBrowser([resolveToLoopback(caddy.host)]);
  try {
    const page = await untrusting.newPage();
    await assert.rejects(page.goto(caddy.url), /ERR_CERT_AUTHORITY_INVALID/);
  } finally {
    await untrusting.close();
  }
});

test('metrics stay off the internet: the adapter serves them, Caddy answers 404', async () => {
  const direct = await fetch(`${adapter.url}/metrics`);
  assert.equal(direct.status, 200);
  assert.match(await direct.text(), /^# TYPE firststep_bookings gauge$/m);
  const { status, body } = await httpsCall({ ...via(caddy), path: '/metrics' });
  assert.equal(status, 404);
  assert.doesNotMatch(body, /firststep_/);
});

/** Open starts far from the ones the browser test books, soonest first. */
async function openStarts() {
  const from = new Date(Date.now() + 7 * 864e5).toISOString().replace(/\.\d+Z$/, 'Z');
  const to = new Date(Date.now() + 13 * 864e5).toISOString().replace(/\.\d+Z$/, 'Z');
  const { status, body } = await httpsCall({ ...via(caddy),
    path: `/v1/slots?service=free-consultation&from=${from}&to=${to}` });
  assert.equal(status, 200, body);
  return JSON.parse(body).slots.map((slot) => slot.start);
}

const via = ({ host, port, root }) => ({ host, port, ca: root });

let keys = 0;
/** A booking request for `start`, as the widget sends it. */
function booking(start) {
  const body = JSON.stringify({
    service: 'free-consultation', start, client: { name: 'Kim Park', email: 'kim@example.org', phone: null },
    client_time_zone: 'America/New_York', note: null, consent: true, website: '',
  });
  return {
    method: 'POST', body,
    headers: { 'content-type': 'application/json', 'idempotency-key': `behind-proxy-${process.pid}-${++keys}` },
  };
}

/** Books `start` through Caddy from `localAddress`, with `headers` added. */
function bookThroughCaddy(localAddress, start, headers = {}) {
  const request = booking(start);
  return httpsCall({ ...via(caddy), path: '/v1/bookings', localAddress, ...request,
    headers: { ...request.headers, ...headers } });
}

/** Books `start` straight at the adapter (no proxy) from `localAddress`, with `headers` added. */
function bookDirectly(localAddress, start, headers = {}) {
  const request = booking(start);
  return httpCall(adapter.url, { path: '/v1/bookings', localAddress, ...request,
    headers: { ...request.headers, ...headers } });
}

test('behind the proxy each visitor has their own booking limit, and forwarded headers cannot fake one', async () => {
  const starts = await openStarts();
  assert.ok(starts.length >= perMinute + 3, `enough open starts (${starts.length})`);
  const [third, fourth, fifth] = starts.slice(perMinute);
  const spoofed = { 'x-forwarded-for': '198.51.100.7', forwarded: 'for=198.51.100.7' };

  // The visitor at 127.0.0.2 uses up their limit.
  for (const start of starts.slice(0, perMinute)) {
    const { status, body } = await bookThroughCaddy('127.0.0.2', start);
    assert.equal(status, 201, body);
  }
  const limited = await bookThroughCaddy('127.0.0.2', third);
  assert.equal(limited.status, 429, limited.body);
  assert.match(limited.headers['retry-after'] ?? '', /^\d+$/);

  // Naming another address in the headers Caddy receives changes nothing: Caddy
  // sets X-Forwarded-For from the connection and drops Forwarded.
  const spoofedThroughCaddy = await bookThroughCaddy('127.0.0.2', third, spoofed);
  assert.equal(spoofedThroughCaddy.status, 429, spoofedThroughCaddy.body);

  // Straight at the adapter, 127.0.0.2 is no trusted proxy: its headers are ignored.
  const spoofedDirectly = await bookDirectly('127.0.0.2', fourth, spoofed);
  assert.equal(spoofedDirectly.status, 429, spoofedDirectly.body);

  // Another visitor, through the same proxy, still books.
  const other = await bookThroughCaddy('127.0.0.3', fifth);
  assert.equal(other.status, 201, other.body);
  assert.equal(JSON.parse(other.body).start, fifth);
});
