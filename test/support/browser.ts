/**
 * Headless Chromium (Debian's package, /usr/bin/chromium) driven with
 * playwright-core, a fresh profile per run; screenshots go to
 * test-artefacts/ (git-ignored), where CI keeps them.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const ARTEFACTS = resolve(fileURLToPath(new URL('../..', import.meta.url)), 'test-artefacts');

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Save a full-page screenshot as test-artefacts/<name>.png; returns its path. */
  screenshot(name: string, page?: Page): Promise<string>;
  close(): Promise<void>;
}

export async function startBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'fw-chromium-'));
  mkdirSync(ARTEFACTS, { recursive: true });
  // a fresh --user-data-dir: playwright takes it as the persistent context's folder
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } });
  // a minute for a page's reaction: the console polls a lab that shares two cores with the rest of the suite
  context.setDefaultTimeout(60_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async screenshot(name, p = page) {
      const file = join(ARTEFACTS, `${name}.png`);
      await p.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
