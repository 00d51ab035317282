/**
 * Speed of the pure parts, as ratios measured in one run:
 *  - wave planning: 10,000 hosts vs 1,000 (should stay close to linear, ~10x);
 *  - the lab's bundled host step: one `docker compose version` through the
 *    lab's docker CLI vs a bare `node -e 0` (the per-call overhead scripts pay).
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { planWaves, type PlanHost } from '../core/waves';
import { prepareLabBin } from '../lab/hosts';
import { loadedNow, formatFigure, type Machine } from './report';

function timeIt(fn: () => void, runs: number): number {
  fn(); // warm
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) fn();
  return (performance.now() - t0) / runs;
}

const fleet = (n: number): PlanHost[] => Array.from({ length: n }, (_, i) => ({ id: `h${i}`, tier: i < n / 20 ? 'staging' : 'production' }));

export async function planningBench(machine: Machine): Promise<string[]> {
  const small = fleet(1_000);
  const large = fleet(10_000);
  const tSmall = timeIt(() => planWaves('bench', small), 20);
  const tLarge = timeIt(() => planWaves('bench', large), 5);
  const bin = await prepareLabBin();
  const node = timeIt(() => spawnSync(process.execPath, ['-e', '0']), 5);
  const docker = timeIt(() => spawnSync(`${bin}/docker`, ['compose', 'version']), 5);
  return [
    formatFigure({ name: 'wave planning', measured: `10,000 hosts ${tLarge.toFixed(1)} ms vs 1,000 hosts ${tSmall.toFixed(1)} ms`, ratio: tLarge / tSmall, goal: '≈ 10 (linear)', dataSize: '1,000 and 10,000 hosts', machine: loadedNow(machine) }),
    formatFigure({ name: 'lab docker call', measured: `${docker.toFixed(0)} ms vs bare node start ${node.toFixed(0)} ms`, ratio: docker / node, dataSize: 'one `docker compose version`', machine: loadedNow(machine) }),
  ];
}
