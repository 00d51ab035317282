/**
 * How the benchmarks report: one line per figure naming the machine and the
 * data size, and docs/benchmarks.md kept as one section per benchmark, each
 * replaced in place by the sub-command that measured it.
 */
import { cpus, loadavg, totalmem } from 'node:os';

export interface Machine {
  cores: number;
  cpu: string;
  memoryGb: number;
  /** The 1-minute load average when the figure was taken (the machine may be shared). */
  load?: number;
}

export function thisMachine(): Machine {
  const list = cpus();
  return { cores: list.length, cpu: (list[0]?.model ?? 'unknown cpu').trim(), memoryGb: Math.round(totalmem() / 2 ** 30) };
}

export interface Figure {
  /** What was measured, e.g. "overhead, 20 hosts". */
  name: string;
  /** The measurement, e.g. "wall 90.1 s vs ideal 84.0 s". */
  measured: string;
  /** measured / reference, when the figure is a ratio. */
  ratio?: number;
  /** What the ratio is compared with, e.g. "≤ 1.05". */
  goal?: string;
  /** The data size, e.g. "20 hosts × 7 steps × 2 s" or "1.00 GiB". */
  dataSize: string;
  machine: Machine;
}

export const machineText = (m: Machine): string => `${m.cores} cores (${m.cpu}), ${m.memoryGb} GB${m.load === undefined ? '' : `, load ${m.load.toFixed(1)}`}`;

/** The machine as it is now: its load average added. */
export const loadedNow = (m: Machine): Machine => ({ ...m, load: loadavg()[0] });

export function formatFigure(f: Figure): string {
  const ratio = f.ratio === undefined ? '' : ` → ${f.ratio.toFixed(2)}x${f.goal ? ` (goal ${f.goal})` : ''}`;
  return `${f.name}: ${f.measured}${ratio} · ${f.dataSize} · ${machineText(f.machine)}`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(2)} ${BYTE_UNITS[u]}`;
}

export const formatSeconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export interface Section {
  /** The section's key, e.g. "overhead": markers `<!-- bench:overhead -->` … `<!-- /bench:overhead -->`. */
  key: string;
  title: string;
  /** The command that reproduces it. */
  command: string;
  /** When it was measured (ISO time). */
  at: string;
  lines: string[];
  /** Free text after the figures (what it measures, what was not run). */
  notes?: string[];
}

export function renderSection(s: Section): string {
  const body = [
    `<!-- bench:${s.key} -->`,
    `## ${s.title}`,
    '',
    `Reproduce: \`${s.command}\` (measured ${s.at})`,
    '',
    ...s.lines.map((l) => `- ${l}`),
    ...(s.notes && s.notes.length > 0 ? ['', ...s.notes] : []),
    `<!-- /bench:${s.key} -->`,
  ];
  return body.join('\n');
}

/** `doc` with section `s` replaced where its markers are, else appended; other sections untouched. */
export function upsertSection(doc: string, s: Section): string {
  const start = `<!-- bench:${s.key} -->`;
  const end = `<!-- /bench:${s.key} -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  const rendered = renderSection(s);
  if (from >= 0 && to > from) return `${doc.slice(0, from)}${rendered}${doc.slice(to + end.length)}`;
  const trimmed = doc.replace(/\s+$/, '');
  return `${trimmed}${trimmed ? '\n\n' : ''}${rendered}\n`;
}
