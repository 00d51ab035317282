/**
 * The console in a real browser (headless Chromium) against a lab: sign in
 * through the lab user pool, see the fleet, start a rollout and watch it
 * finish, restore a host from its backup after typing its id, see it back on
 * its old version; and a page of another site cannot act. Screenshots:
 * test-artefacts/console-*.png.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningVersions } from '../../lab/hosts';
import { startBrowser, type TestBrowser } from '../support/browser';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
let b: TestBrowser;
let evil: Server;
let evilUrl: string;

beforeAll(async () => {
  t = await startTestLab();
  await t.addHosts('web', [
    { id: 'web-stg-1', tier: 'staging', mode: 'embedded', version: '1.4.0' },
    { id: 'web-prod-1', tier: 'production', mode: 'external', version: '1.4.0' },
  ]);
  b = await startBrowser();
  evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>another site</title><p>another site</p>');
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
}, 240_000);
afterAll(async () => {
  await b?.close();
  await new Promise((r) => evil?.close(r));
  await t?.close();
});

/** A failing step leaves a picture of the page beside the error. */
async function onFailureScreenshot(name: string, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (err) {
    await b.screenshot(name).catch(() => undefined);
    throw err;
  }
}

describe('the operators\' console', () => {
  it('signs in, starts a rollout and shows it finish, restores a host after typed confirmation', async () => {
    await onFailureScreenshot('console-failure', () => journey());
  });

  async function journey() {
    const { page } = b;
    const { user } = t.lab.cognito;
    await page.goto(t.lab.api.consoleUrl);
    // the console sends the browser to the user pool's sign-in, then back
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Fleet web' }).waitFor();
    expect(await page.locator('#who').textContent()).toBe(`signed in as ${user.username}`);
    const rows = page.getByRole('table', { name: /Hosts of web/ }).locator('tbody tr');
    // registered by fleet apply: no version is known until a run reads it from the host (shown as –)
    expect(await rows.allInnerTexts()).toEqual([expect.stringMatching(/^web-stg-1\s+staging\s+–\s+ready/), expect.stringMatching(/^web-prod-1\s+production\s+–\s+ready/)]);
    await b.screenshot('console-fleet');

    await page.getByRole('form', { name: 'Start a rollout of fleet web' }).getByRole('combobox').selectOption('1.5.0');
    await page.getByRole('button', { name: 'Start rollout of web' }).click();
    await page.getByRole('heading', { name: 'Rollout web-1-5-0' }).waitFor();
    // live progress: the page polls until the rollout ends
    await page.locator('.badge', { hasText: /^succeeded$/ }).first().waitFor({ timeout: 150_000 });
    await page.locator('#rollout-progress[value="2"]').waitFor();
    await b.screenshot('console-rollout-finished');
    expect(Object.values(runningVersions(t.hosts[0]!.root))).toEqual(['1.5.0', '1.5.0', '1.5.0']);

    await page.getByRole('link', { name: 'web-stg-1' }).click();
    await page.getByRole('heading', { name: 'Host web-stg-1' }).waitFor();
    expect(await page.locator('#host-version').textContent()).toBe('1.5.0');
    await page.getByRole('button', { name: /^Show steps of upgrade/ }).first().click();
    await page.getByRole('list', { name: /steps of run/ }).waitFor();
    expect(await page.getByRole('list', { name: /steps of run/ }).innerText()).toMatch(/backup — Success[\s\S]*full output: s3:\/\//);
    await page.getByRole('button', { name: 'Restore 1.4.0 backup' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore web-stg-1' });
    await dialog.getByLabel('Type web-stg-1 to confirm').fill('web-prod-1');
    await dialog.getByRole('button', { name: 'Restore' }).click();
    expect(await dialog.getByRole('alert').textContent()).toBe('That is not web-stg-1.');
    await b.screenshot('console-restore-confirm');
    await dialog.getByLabel('Type web-stg-1 to confirm').fill('web-stg-1');
    await dialog.getByRole('button', { name: 'Restore' }).click();
    await page.locator('#status', { hasText: 'restore of web-stg-1: succeeded' }).waitFor({ timeout: 150_000 });
    await page.locator('#host-version', { hasText: '1.4.0' }).waitFor();
    expect(await page.locator('main').innerText()).not.toMatch(/\bnull\b|undefined/);
    await b.screenshot('console-host-restored');
    expect(Object.values(runningVersions(t.hosts[0]!.root))).toEqual(['1.4.0', '1.4.0', '1.4.0']);
    const restored = (await t.lab.store.listAudit({ hostId: 'web-stg-1' })).find((a) => a.action === 'operator.host-rollback');
    expect(restored?.actor).toBe(`console:${user.username} (${user.sub})`);
  }

  it('lets no page of another site act, with or without the signed-in browser', async () => {
    const page = await b.context.newPage();
    await page.goto(evilUrl);
    const before = (await t.lab.store.listAudit({ hostId: 'web-prod-1' })).length;
    const runsBefore = (await t.lab.store.listRuns({ hostId: 'web-prod-1' })).length;
    const api = t.lab.api.url;
    const attempts = await page.evaluate(async (base) => {
      const out: string[] = [];
      // a simple cross-site POST the browser sends without asking: no token can ride along
      await fetch(`${base}/console/api/hosts/web-prod-1/upgrade`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"version":"1.5.0"}' }).then((r) => out.push(`no-cors:${r.type}`), (e) => out.push(`no-cors:${e}`));
      await fetch(`${base}/api/hosts/web-prod-1/upgrade`, { method: 'POST', mode: 'no-cors', body: '{"version":"1.5.0"}' }).then((r) => out.push(`iam:${r.type}`), (e) => out.push(`iam:${e}`));
      // a CORS request: the preflight is refused for this origin
      await fetch(`${base}/console/api/hosts/web-prod-1/upgrade`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"version":"1.5.0"}' }).then((r) => out.push(`cors:${r.status}`), () => out.push('cors:blocked'));
      out.push(`token:${(globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('fleetwave.console') ?? 'none'}`);
      return out;
    }, api);
    expect(attempts).toEqual(['no-cors:opaque', 'iam:opaque', 'cors:blocked', 'token:none']);
    expect((await t.lab.store.listAudit({ hostId: 'web-prod-1' })).length).toBe(before);
    expect((await t.lab.store.listRuns({ hostId: 'web-prod-1' })).length).toBe(runsBefore);
    await b.screenshot('console-other-site', page);
    await page.close();
  });
});
