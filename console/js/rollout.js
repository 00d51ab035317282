// One rollout: its waves with live progress (polled while it is under way), and
// approve / stop / roll back.
import { api } from './api.js';
import { badge, confirmTyped, h, show, status, table, when } from './dom.js';

const ACTIVE = ['created', 'running', 'awaiting-approval', 'stop-requested', 'rolling-back'];
const RESULT_KIND = { succeeded: 'ok', 'rolled-back': 'ok', pending: 'muted', unreachable: 'warn' };
let timer = null;

export function stopPolling() {
  if (timer) clearTimeout(timer);
  timer = null;
}

async function act(path, body, done) {
  try {
    const r = await api('POST', path, body);
    status(done(r), 'ok');
  } catch (err) {
    status(err.message, 'error');
  }
}

function render(detail) {
  const r = detail.rollout;
  const active = ACTIVE.includes(r.status);
  const total = detail.waves.reduce((n, w) => n + w.hosts.length, 0);
  const finished = detail.waves.reduce((n, w) => n + w.hosts.filter((x) => x.result !== 'pending').length, 0);
  show(
    h('h1', {}, `Rollout ${r.id}`),
    h('p', {}, `Fleet `, h('a', { href: '#/' }, r.fleetId), ` → ${r.targetVersion} · attempt ${r.attempt} · policy ${r.failurePolicy} · `, badge(r.status, r.status === 'succeeded' ? 'ok' : active ? 'warn' : 'bad')),
    h('p', {}, h('label', { for: 'rollout-progress' }, `${finished} of ${total} hosts finished `), h('progress', { id: 'rollout-progress', max: Math.max(total, 1), value: finished })),
    r.awaitingApproval ? h('p', { class: 'banner', role: 'alert' }, 'Staging is done: production waits for an approval.') : null,
    h('div', { class: 'actions', role: 'group', 'aria-label': 'Rollout actions' },
      r.awaitingApproval ? h('button', { type: 'button', class: 'primary', id: 'approve', onclick: () => act(`/rollouts/${r.id}/approve`, {}, () => 'production approved').then(() => rolloutView(r.id)) }, 'Approve production') : null,
      active ? h('button', { type: 'button', id: 'stop', onclick: () => act(`/rollouts/${r.id}/stop`, {}, () => 'stopping: hosts being upgraded finish, no new host starts').then(() => rolloutView(r.id)) }, 'Stop') : null,
      !active ? h('button', { type: 'button', class: 'danger', id: 'rollback', onclick: () => rollback(r) }, 'Roll back this rollout') : null),
    detail.waves.map((w) => {
      const done = w.hosts.filter((x) => x.result !== 'pending').length;
      return h('section', { 'aria-labelledby': `wave-${w.index}` },
        h('h2', { id: `wave-${w.index}` }, `Wave ${w.index} · ${w.name} (${w.tier}) `, badge(w.status, w.status === 'succeeded' ? 'ok' : w.status === 'failed' ? 'bad' : 'muted')),
        h('p', {}, h('label', { for: `wave-progress-${w.index}` }, `${done} of ${w.hosts.length} hosts · failure budget ${w.maxFailures} `), h('progress', { id: `wave-progress-${w.index}`, max: Math.max(w.hosts.length, 1), value: done })),
        table(`Hosts of wave ${w.index}`, [
          ['Host', (x) => h('a', { href: `#/hosts/${x.hostId}` }, x.hostId)],
          ['Result', (x) => badge(x.result, RESULT_KIND[x.result] ?? 'bad')],
          ['Outcome', (x) => x.outcome ?? '–'],
          ['Message', (x) => x.message ?? ''],
          ['When', (x) => when(x.updatedAt)],
        ], w.hosts));
    }),
  );
}

async function rollback(r) {
  const reason = await confirmTyped({ title: `Roll back ${r.id}`, text: `Every host this rollout upgraded is restored from the backup taken before its upgrade. Hosts a later run changed are left as they are.`, expected: r.id, action: 'Roll back' });
  if (reason === null) return;
  await act(`/rollouts/${r.id}/rollback`, { reason }, (x) => `rollback started: ${x.executionArn}`);
}

export async function rolloutView(id, waited = 0) {
  stopPolling();
  const again = (n) => {
    if (location.hash === `#/rollouts/${id}`) timer = setTimeout(() => rolloutView(id, n).catch((err) => status(err.message, 'error')), 1500);
  };
  let detail;
  try {
    detail = await api('GET', `/rollouts/${encodeURIComponent(id)}`);
  } catch (err) {
    // just started: the rollout exists once FleetRollout has planned its waves
    if (err.status !== 404 || waited > 40) throw err;
    show(h('h1', {}, `Rollout ${id}`), h('p', { role: 'status' }, 'Planning the waves…'));
    return again(waited + 1);
  }
  render(detail);
  if (ACTIVE.includes(detail.rollout.status)) again(0);
}
