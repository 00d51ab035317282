// The console: hash routes over the operator API's console routes.
//   #/                 the fleet: hosts by tier and version, version parity, quarantined first; start a rollout
//   #/rollouts         rollouts;  #/rollouts/<id>  live wave progress, approve / stop / roll back
//   #/hosts/<id>       runs with a step timeline, backups, restore (typed confirmation), upgrade, unlock
//   #/compliance       compliance over time
import { api, ensureSignedIn, loadConfig, signOut } from './api.js';
import { badge, h, main, show, status, table, when } from './dom.js';
import { hostView } from './host.js';
import { rolloutView, stopPolling } from './rollout.js';

const STATE_KIND = { quarantined: 'bad', running: 'warn', ready: 'ok' };

async function fleetView() {
  const [hosts, fleets, releases, rollouts] = await Promise.all([api('GET', '/hosts'), api('GET', '/fleets'), api('GET', '/releases'), api('GET', '/rollouts')]);
  const byFleet = new Map(fleets.map((f) => [f.id, { fleet: f, hosts: [] }]));
  for (const host of hosts) byFleet.get(host.fleetId)?.hosts.push(host);
  const quarantined = hosts.filter((x) => x.locked);
  const sections = [...byFleet.values()].map(({ fleet, hosts: hs }) => {
    const versions = new Map();
    for (const x of hs) versions.set(x.observedVersion ?? 'unknown', (versions.get(x.observedVersion ?? 'unknown') ?? 0) + 1);
    const parity = versions.size <= 1 && (!fleet.desiredVersion || versions.has(fleet.desiredVersion));
    return h('section', { 'aria-labelledby': `fleet-${fleet.id}` },
      h('h2', { id: `fleet-${fleet.id}` }, `Fleet ${fleet.id}`),
      h('div', { class: 'parity', 'aria-label': `versions of fleet ${fleet.id}` },
        badge(parity ? 'version parity' : 'versions differ', parity ? 'ok' : 'warn'),
        h('span', {}, `desired: ${fleet.desiredVersion ?? 'not set'}`),
        [...versions].map(([v, n]) => h('span', {}, `${v}: ${n} host${n === 1 ? '' : 's'}`))),
      table(`Hosts of ${fleet.id}, quarantined first, then staging before production`, [
        ['Host', (x) => h('a', { href: `#/hosts/${x.id}` }, x.id)],
        ['Tier', (x) => x.tier],
        ['Version', (x) => x.observedVersion ?? '–'],
        ['State', (x) => badge(x.state, STATE_KIND[x.state])],
        ['Last run', (x) => (x.lastRun ? `${x.lastRun.kind} → ${x.lastRun.targetVersion}: ${x.lastRun.outcome ?? x.lastRun.status}` : '–')],
        ['When', (x) => when(x.lastRun?.finishedAt ?? x.lastRun?.startedAt)],
      ], hs, (x) => (x.locked ? { class: 'quarantined' } : {})),
      startRolloutForm(fleet, releases));
  });
  show(
    h('h1', {}, 'Fleet'),
    quarantined.length ? h('p', { class: 'banner', role: 'alert' }, `${quarantined.length} quarantined host${quarantined.length === 1 ? '' : 's'}: ${quarantined.map((x) => x.id).join(', ')}`) : null,
    sections,
    h('h2', {}, 'Recent rollouts'),
    rolloutTable(rollouts.slice(0, 10)),
  );
}

function startRolloutForm(fleet, releases) {
  const id = (s) => `${s}-${fleet.id}`;
  const version = h('select', { id: id('version'), name: 'version', required: true }, releases.map((r) => h('option', { value: r.version }, `${r.version}${r.destructive ? ' (destructive)' : ''}`)));
  const destructive = h('input', { type: 'checkbox', id: id('destructive'), name: 'allowDestructive' });
  const form = h('form', { class: 'inline', 'aria-label': `Start a rollout of fleet ${fleet.id}` },
    h('label', { for: id('version') }, 'Version', version),
    h('label', { for: id('destructive') }, 'Allow a destructive release', destructive),
    h('button', { type: 'submit', class: 'primary' }, `Start rollout of ${fleet.id}`));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      status(`starting the rollout of ${fleet.id} to ${version.value}…`);
      const r = await api('POST', '/rollouts', { fleetId: fleet.id, version: version.value, allowDestructive: destructive.checked });
      status(r.created ? `rollout ${r.rolloutId} started (attempt ${r.attempt})` : `rollout ${r.rolloutId} is already under way`, 'ok');
      location.hash = `#/rollouts/${r.rolloutId}`;
    } catch (err) {
      status(err.message, 'error');
    }
  });
  return form;
}

function rolloutTable(rollouts) {
  return table('Rollouts, newest first', [
    ['Rollout', (r) => h('a', { href: `#/rollouts/${r.id}` }, r.id)],
    ['Fleet', (r) => r.fleetId],
    ['Version', (r) => r.targetVersion],
    ['Status', (r) => badge(r.status, r.status === 'succeeded' ? 'ok' : ['created', 'running', 'awaiting-approval', 'stop-requested', 'rolling-back'].includes(r.status) ? 'warn' : 'bad')],
    ['Attempt', (r) => r.attempt],
    ['Updated', (r) => when(r.updatedAt)],
  ], rollouts);
}

async function rolloutsView() {
  show(h('h1', {}, 'Rollouts'), rolloutTable(await api('GET', '/rollouts')));
}

async function complianceView() {
  const checks = await api('GET', '/compliance/checks?limit=24');
  show(
    h('h1', {}, 'Compliance over time'),
    h('p', { class: 'muted' }, 'Each completed version-parity check, newest first; unknown hosts (unreachable, no inventory) count as non-compliant.'),
    table('Compliance checks and each fleet\'s counts', [
      ['Finished', (c) => when(c.finishedAt)],
      ['Fleet', (c) => c.fleets.map((f) => f.fleetId).join(', ') || (c.fleetId ?? 'all')],
      ['Hosts', (c) => c.hostCount],
      ['Compliant', (c) => h('span', { class: 'ok' }, c.compliant ?? '–')],
      ['Non-compliant', (c) => h('span', { class: c.nonCompliant ? 'bad' : '' }, c.nonCompliant ?? '–')],
      ['Unknown', (c) => c.unknown ?? '–'],
      ['Trend', (c) => h('progress', { max: Math.max(1, c.hostCount), value: c.compliant ?? 0, 'aria-label': `${c.compliant ?? 0} of ${c.hostCount} compliant` })],
    ], checks),
    h('form', { class: 'inline', 'aria-label': 'Run a compliance check' }, h('button', { type: 'submit', id: 'compliance-run' }, 'Run a compliance check now')),
  );
  main().querySelector('form').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await api('POST', '/compliance/checks', {});
      status(`compliance check started: ${r.executionArn}`, 'ok');
    } catch (err) {
      status(err.message, 'error');
    }
  });
}

async function route() {
  stopPolling();
  const [, page, id] = (location.hash || '#/').split('/');
  for (const a of document.querySelectorAll('header nav a')) {
    if (a.getAttribute('href') === `#/${page ?? ''}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    if (!page) await fleetView();
    else if (page === 'rollouts' && id) await rolloutView(decodeURIComponent(id));
    else if (page === 'rollouts') await rolloutsView();
    else if (page === 'hosts' && id) await hostView(decodeURIComponent(id));
    else if (page === 'compliance') await complianceView();
    else show(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the fleet')));
  } catch (err) {
    show(h('h1', {}, 'Something went wrong'), h('p', { class: 'error', role: 'alert' }, err.message));
  }
  main().focus();
}

async function start() {
  const config = await loadConfig();
  document.getElementById('environment').textContent = config.environment;
  await ensureSignedIn();
  const me = await api('GET', '/me');
  document.getElementById('who').textContent = me.kind === 'user' ? `signed in as ${me.username}` : me.arn;
  const out = document.getElementById('sign-out');
  out.hidden = false;
  out.addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  await route();
}

start().catch((err) => show(h('h1', {}, 'Cannot start the console'), h('p', { class: 'error', role: 'alert' }, err.message)));
