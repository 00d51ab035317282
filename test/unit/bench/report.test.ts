import { describe, expect, it } from 'vitest';
import { formatBytes, formatFigure, renderSection, upsertSection, type Section } from '../../../bench/report';
import { stepOfDocument } from '../../../lab/ssm/sim-agent';
import { documentName } from '../../../ssm-documents';
import { HOST_STEPS } from '../../../core/models';

const machine = { cores: 2, cpu: 'Test CPU', memoryGb: 23 };
const section = (key: string, lines: string[]): Section => ({ key, title: key, command: `npm run bench -- ${key}`, at: '2026-12-03 15:00 UTC', lines });

describe('bench report', () => {
  it('names the machine cores and the data size on every figure line, with the ratio and its goal', () => {
    const line = formatFigure({ name: 'overhead, 20 hosts', measured: 'rollout 90.0 s vs ideal 84.0 s', ratio: 90 / 84, goal: '≤ 1.05', dataSize: '20 simulated hosts × 2 s/step', machine });
    expect(line).toBe('overhead, 20 hosts: rollout 90.0 s vs ideal 84.0 s → 1.07x (goal ≤ 1.05) · 20 simulated hosts × 2 s/step · 2 cores (Test CPU), 23 GB');
    expect(formatFigure({ name: 'x', measured: 'y', dataSize: '1 host', machine })).toBe('x: y · 1 host · 2 cores (Test CPU), 23 GB');
    expect(formatFigure({ name: 'x', measured: 'y', dataSize: '1 host', machine: { ...machine, load: 12.34 } })).toBe('x: y · 1 host · 2 cores (Test CPU), 23 GB, load 12.3');
  });

  it('formats byte sizes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(2 ** 30)).toBe('1.00 GiB');
  });

  it('renders a section with its reproducing command between its markers', () => {
    const text = renderSection(section('scale', ['a', 'b']));
    expect(text.split('\n')).toEqual(['<!-- bench:scale -->', '## scale', '', 'Reproduce: `npm run bench -- scale` (measured 2026-12-03 15:00 UTC)', '', '- a', '- b', '<!-- /bench:scale -->']);
  });

  it('replaces only its own section and appends a new one, keeping the rest of the document', () => {
    let doc = '# Benchmarks\n\nintro\n';
    doc = upsertSection(doc, section('overhead', ['old']));
    doc = upsertSection(doc, section('scale', ['s1']));
    doc = upsertSection(doc, section('overhead', ['new']));
    expect(doc.startsWith('# Benchmarks\n\nintro\n\n<!-- bench:overhead -->')).toBe(true);
    expect(doc).toContain('- new');
    expect(doc).not.toContain('- old');
    expect(doc.indexOf('bench:overhead')).toBeLessThan(doc.indexOf('bench:scale'));
    expect(doc.match(/<!-- bench:overhead -->/g)).toHaveLength(1);
    expect(doc).toContain('- s1');
  });
});

describe('simulated agent', () => {
  it('knows the step of every fleetwave document name', () => {
    for (const step of HOST_STEPS) {
      expect(stepOfDocument(documentName(step))).toBe(step);
    }
  });
});
