// Small DOM helpers: elements are built, never parsed from strings, so nothing the
// API returns is ever interpreted as markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const main = () => document.getElementById('main');

export function show(...children) {
  const m = main();
  m.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

export function status(text, kind = '') {
  const s = document.getElementById('status');
  s.className = `status ${kind}`;
  s.textContent = text;
}

export const when = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–');
export const bytes = (n) => {
  if (n === null || n === undefined) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i += 1; }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
};

export function table(caption, columns, rows, rowAttrs = () => ({})) {
  return h('table', {},
    h('caption', { class: 'muted' }, caption),
    h('thead', {}, h('tr', {}, columns.map(([label]) => h('th', { scope: 'col' }, label)))),
    h('tbody', {}, rows.length ? rows.map((r) => h('tr', rowAttrs(r), columns.map(([, cell]) => h('td', {}, cell(r))))) : h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, 'none'))));
}

export const badge = (text, kind) => h('span', { class: `badge ${kind}` }, text);

/** Ask for typed confirmation: resolves with the reason, or null when cancelled. */
export function confirmTyped({ title, text, expected, action }) {
  const dialog = document.getElementById('confirm');
  const input = document.getElementById('confirm-input');
  const error = document.getElementById('confirm-error');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-label').textContent = `Type ${expected} to confirm`;
  document.getElementById('confirm-ok').textContent = action;
  input.value = '';
  error.textContent = '';
  return new Promise((resolve) => {
    const form = document.getElementById('confirm-form');
    const done = (value) => {
      form.removeEventListener('submit', submit);
      cancel.removeEventListener('click', onCancel);
      dialog.close();
      resolve(value);
    };
    const submit = (e) => {
      e.preventDefault();
      if (input.value.trim() !== expected) {
        error.textContent = `That is not ${expected}.`;
        input.focus();
        return;
      }
      done(document.getElementById('confirm-reason').value.trim() || 'restore from the console');
    };
    const cancel = document.getElementById('confirm-cancel');
    const onCancel = () => done(null);
    form.addEventListener('submit', submit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', () => done(null), { once: true });
    dialog.showModal();
    input.focus();
  });
}

/** Follow an execution an action started until it ends. */
export async function followExecution(api, executionArn, onState) {
  for (;;) {
    const e = await api('GET', `/executions/${encodeURIComponent(executionArn)}`);
    onState?.(e);
    if (e.status !== 'RUNNING') return e;
    await new Promise((r) => setTimeout(r, 1000));
  }
}
