// Starts what the end-to-end tests need: a real firststep-adapter (release
// build) on a fresh store and a random port, serving the release-built widget
// and the demo page; and Debian's Chromium, driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Starts the adapter; resolves to { url, stop }. */
export async function startAdapter(config = join(root, 'e2e', 'practice.toml')) {
  const folder = mkdtempSync(join(tmpdir(), 'firststep-e2e-'));
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
