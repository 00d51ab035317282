// One host: its state, an upgrade, its runs with a step timeline (and where each
// step's full output is), its backups with a restore that asks for typed
// confirmation, and unlock when quarantined.
import { api } from './api.js';
import { badge, bytes, confirmTyped, followExecution, h, main, show, status, table, when } from './dom.js';

async function steps(runId, into) {
  const { run, steps: list } = await api('GET', `/runs/${runId}`);
  into.replaceChildren(
    h('h3', {}, `Run ${run.id}: ${run.kind} ${run.fromVersion ?? '?'} → ${run.targetVersion}, ${run.outcome ?? run.status}`),
    run.message ? h('p', {}, run.message) : null,
    h('ol', { class: 'timeline', 'aria-label': `steps of run ${run.id}` },
      list.map((s) => h('li', { class: s.status },
        h('strong', {}, s.step), ` — ${s.status}${s.error ? ` (${s.error})` : ''} at ${when(s.recordedAt)}`,
        s.message ? h('div', {}, s.message) : null,
        h('div', { class: 'muted' }, 'SSM command ', h('code', {}, s.commandId), s.outputUri ? [' · full output: ', h('code', {}, s.outputUri)] : ' · output inline only')))),
  );
}

async function restore(host, backup, force = false) {
  const reason = await confirmTyped({
    title: `Restore ${host.id}`,
    text: `Restore backup ${backup.id} (${backup.version}, taken ${when(backup.createdAt)}). The host's data is replaced by the backup's${force ? ', discarding the later changes named before' : ''}.`,
    expected: host.id,
    action: force ? 'Restore anyway' : 'Restore',
  });
  if (reason === null) return;
  try {
    const started = await api('POST', `/hosts/${host.id}/rollback`, { backupId: backup.id, reason, ...(force ? { force: true } : {}) });
    status(`restoring ${host.id}…`);
    const end = await followExecution(api, started.executionArn, (e) => status(`restoring ${host.id}: ${e.states.at(-1) ?? 'starting'}`));
    status(`restore of ${host.id}: ${end.status.toLowerCase()}${end.error ? ` (${end.error})` : ''}`, end.status === 'SUCCEEDED' ? 'ok' : 'error');
    await hostView(host.id);
  } catch (err) {
    if (err.status === 409 && err.details?.reason === 'newer-changes' && !force) {
      status(err.message, 'error');
      const again = h('button', { type: 'button', class: 'danger', id: 'restore-force', onclick: () => restore(host, backup, true) }, 'Restore anyway, discarding the later changes');
      main().prepend(h('div', { class: 'banner', role: 'alert' }, err.message, ' ', again));
    } else status(err.message, 'error');
  }
}

export async function hostView(id) {
  const [{ host, runs, backups }, releases] = await Promise.all([api('GET', `/hosts/${encodeURIComponent(id)}?runs=20`), api('GET', '/releases')]);
  const timeline = h('div', { id: 'run-steps', 'aria-live': 'polite' });
  const version = h('select', { id: 'upgrade-version', required: true }, releases.map((r) => h('option', { value: r.version }, r.version)));
  const destructive = h('input', { type: 'checkbox', id: 'upgrade-destructive' });
  const upgrade = h('form', { class: 'inline', 'aria-label': `Upgrade ${host.id}` },
    h('label', { for: 'upgrade-version' }, 'Version', version),
    h('label', { for: 'upgrade-destructive' }, 'Allow a destructive release', destructive),
    h('button', { type: 'submit', class: 'primary', disabled: host.locked }, `Upgrade ${host.id}`));
  upgrade.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const started = await api('POST', `/hosts/${host.id}/upgrade`, { version: version.value, allowDestructive: destructive.checked });
      const end = await followExecution(api, started.executionArn, (x) => status(`upgrading ${host.id}: ${x.states.at(-1) ?? 'starting'}`));
      status(`upgrade of ${host.id}: ${end.status.toLowerCase()}${end.error ? ` (${end.error})` : ''}`, end.status === 'SUCCEEDED' ? 'ok' : 'error');
      await hostView(host.id);
    } catch (err) {
      status(err.message, 'error');
    }
  });
  const unlock = async () => {
    try {
      await api('POST', `/hosts/${host.id}/unlock`, { reason: 'unlocked from the console' });
      status(`${host.id} unlocked`, 'ok');
      await hostView(host.id);
    } catch (err) {
      status(err.message, 'error');
    }
  };
  show(
    h('h1', {}, `Host ${host.id}`),
    host.locked ? h('div', { class: 'banner', role: 'alert' }, `Quarantined: ${host.lockedReason ?? 'a restore failed'}. `, h('button', { type: 'button', id: 'unlock', onclick: unlock }, 'Unlock')) : null,
    h('p', { id: 'host-summary' }, `Fleet ${host.fleetId} · ${host.tier} · ${host.databaseMode} database · running `, h('strong', { id: 'host-version' }, host.observedVersion ?? 'unknown'), ` (seen ${when(host.observedAt)})`),
    upgrade,
    h('h2', {}, 'Runs'),
    table(`Runs of ${host.id}, newest first`, [
      ['Started', (r) => when(r.startedAt)],
      ['Kind', (r) => r.kind],
      ['From → to', (r) => `${r.fromVersion ?? '?'} → ${r.targetVersion}`],
      ['Outcome', (r) => badge(r.outcome ?? r.status, r.status === 'running' ? 'warn' : r.outcome === 'succeeded' || r.outcome === 'noop' ? 'ok' : 'bad')],
      ['Failed step', (r) => r.failedStep ?? '–'],
      ['Steps', (r) => h('button', { type: 'button', onclick: () => steps(r.id, timeline).catch((err) => status(err.message, 'error')) }, `Show steps of ${r.kind} ${when(r.startedAt)}`)],
    ], runs),
    timeline,
    h('h2', {}, 'Backups'),
    table(`Backups of ${host.id}, newest first; only verified ones can be restored`, [
      ['Taken', (b) => when(b.createdAt)],
      ['Version', (b) => b.version],
      ['Size', (b) => bytes(b.dataBytes)],
      ['Mode', (b) => b.mode],
      ['Verified', (b) => (b.status === 'verified' ? badge('verified', 'ok') : badge(`${b.status}${b.failure ? `: ${b.failure}` : ''}`, 'bad'))],
      ['', (b) => (b.status === 'verified' ? h('button', { type: 'button', class: 'danger', onclick: () => restore(host, b) }, `Restore ${b.version} backup`) : '')],
    ], backups),
  );
}
