/**
 * ComplianceCheck end to end in the lab: the synthesized state machine, the
 * real Inventory document run with bash on simulated hosts, the registry in
 * PostgreSQL, S3, SSM Compliance, CloudWatch and SNS through the SDK.
 */
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListComplianceItemsCommand, ListResourceComplianceSummariesCommand, SSMClient } from '@aws-sdk/client-ssm';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecution, waitForExecution, type ExecutionResult } from '../../cli/executions';
import { renderComplianceReport } from '../../cli/commands/compliance';
import type { ComplianceReport } from '../../core/compliance';
import type { LabFleetHost } from '../../lab/fleet';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
let n = 0;

beforeAll(async () => {
  t = await startTestLab();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

async function runCheck(input: Record<string, unknown>): Promise<ExecutionResult> {
  const { executionArn } = await startExecution(t.sfn, t.lab.stateMachines.complianceCheck!, `compliance-test-${Date.now().toString(36)}-${n++}`, input);
  return waitForExecution(t.sfn, executionArn, () => undefined, 100);
}

/** Rewrites the api-service image line of a host's compose file (`null`: no tag at all). */
function pinApiService(host: LabFleetHost, tag: string | null): void {
  const file = join(host.composeDir, 'docker-compose.yml');
  const text = readFileSync(file, 'utf8');
  const changed = text.replace(/(image: \S*\/api-service)(:[^\s]+)?$/m, tag === null ? '$1' : `$1:${tag}`);
  expect(changed).not.toBe(text);
  writeFileSync(file, changed);
}

const byHost = (report: ComplianceReport) => new Map(report.fleets.flatMap((f) => f.hosts).map((h) => [h.hostId, h]));

describe('a fleet with drift', () => {
  let hosts: LabFleetHost[];
  let result: ExecutionResult;
  let summary: { checkId: string; hosts: number; compliant: number; nonCompliant: number; unknown: number; reportKey: string };

  beforeAll(async () => {
    hosts = await t.addHosts('parity', [
      { id: 'par-mixed', tier: 'staging', mode: 'embedded', version: '1.5.0', faults: { mixedVersions: '1.4.1' } },
      { id: 'par-old', tier: 'staging', mode: 'embedded', version: '1.4.0' },
      { id: 'par-unpinned', tier: 'production', mode: 'embedded', version: '1.5.0' },
      { id: 'par-offline', tier: 'production', mode: 'embedded', version: '1.5.0' },
      { id: 'par-clean-1', tier: 'production', mode: 'embedded', version: '1.5.0' },
      { id: 'par-clean-2', tier: 'production', mode: 'embedded', version: '1.5.0' },
    ]);
    await t.lab.store.setDesiredVersion('parity', '1.5.0');
    pinApiService(hosts.find((h) => h.id === 'par-unpinned')!, 'latest');
    t.lab.ssm.setOnline(hosts.find((h) => h.id === 'par-offline')!.instanceId, false);
    result = await runCheck({ fleetId: 'parity' });
    summary = result.output as typeof summary;
  }, 90_000);

  it('succeeds and counts UNKNOWN among the non-compliant hosts', () => {
    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    expect(summary).toMatchObject({ hosts: 6, compliant: 2, nonCompliant: 4, unknown: 1 });
  });

  it('flags exactly the drifting hosts, each with its reasons, in the registry', async () => {
    const results = await t.lab.store.listComplianceResults(summary.checkId, { fleetId: 'parity' });
    const states = Object.fromEntries(results.map((r) => [r.hostId, r.state === 'UNKNOWN' ? `UNKNOWN:${r.unknownCause}` : `${r.state}:${r.reasons.join('+')}`]));
    expect(states).toEqual({
      'par-clean-1': 'COMPLIANT:',
      'par-clean-2': 'COMPLIANT:',
      // data-service's pin (1.5.0) also differs from what it runs: a restart would bring it back
      'par-mixed': 'NON_COMPLIANT:mixed-versions+not-desired-version+pinned-differs-from-running',
      'par-old': 'NON_COMPLIANT:not-desired-version',
      'par-offline': 'UNKNOWN:agent-offline',
      'par-unpinned': 'NON_COMPLIANT:unpinned-or-latest',
    });
    const mixed = results.find((r) => r.hostId === 'par-mixed')!;
    expect(mixed.running).toEqual({ 'api-service': '1.5.0', 'data-service': '1.4.1', 'data-service-sidecar': '1.5.0' });
    expect(mixed.runningVersion).toBeNull();
    // the registry's observed version follows what runs
    expect((await t.lab.store.getHost('par-old')).observedVersion).toBe('1.4.0');
    expect((await t.lab.store.getHost('par-mixed')).observedVersion).toBeNull();
  });

  it('writes the same verdicts to the JSON report in S3', async () => {
    const s3 = new S3Client({ forcePathStyle: true });
    const obj = await s3.send(new GetObjectCommand({ Bucket: t.lab.backupBucket, Key: `compliance/${summary.checkId}.json` }));
    const report = JSON.parse(await obj.Body!.transformToString()) as ComplianceReport;
    expect(report.totals).toEqual({ hosts: 6, compliant: 2, nonCompliant: 4, unknown: 1 });
    const hostsById = byHost(report);
    expect(hostsById.get('par-unpinned')!.pinned['api-service']).toBe('latest');
    expect(hostsById.get('par-old')!.details.join(' ')).toMatch(/fleet wants 1\.5\.0/);
    expect(report.fleets[0]!.drift).toBe('drift-appeared');
  });

  it('reports one SSM Compliance item per host that agrees with the report', async () => {
    const ssm = new SSMClient({});
    const results = await t.lab.store.listComplianceResults(summary.checkId);
    for (const r of results) {
      const { ComplianceItems = [] } = await ssm.send(
        new ListComplianceItemsCommand({
          ResourceIds: [r.instanceId],
          ResourceTypes: ['ManagedInstance'],
          Filters: [{ Key: 'ComplianceType', Values: ['Custom:FleetwaveVersionParity'], Type: 'EQUAL' }],
        }),
      );
      expect(ComplianceItems, r.hostId).toHaveLength(1);
      const item = ComplianceItems[0]!;
      expect(item.Status, r.hostId).toBe(r.state === 'COMPLIANT' ? 'COMPLIANT' : 'NON_COMPLIANT');
      expect(item.Details?.State, r.hostId).toBe(r.state);
      expect(item.ExecutionSummary?.ExecutionId).toBe(summary.checkId);
    }
    const offline = results.find((r) => r.hostId === 'par-offline')!;
    const { ComplianceItems: [offlineItem] = [] } = await ssm.send(new ListComplianceItemsCommand({ ResourceIds: [offline.instanceId] }));
    expect(offlineItem!.Details?.Reasons).toBe('unknown:agent-offline');

    const { ResourceComplianceSummaryItems = [] } = await ssm.send(
      new ListResourceComplianceSummariesCommand({
        Filters: [{ Key: 'ComplianceType', Values: ['Custom:FleetwaveVersionParity'], Type: 'EQUAL' }],
        MaxResults: 50,
      }),
    );
    const ours = ResourceComplianceSummaryItems.filter((x) => results.some((r) => r.instanceId === x.ResourceId));
    expect(ours.filter((x) => x.Status === 'NON_COMPLIANT')).toHaveLength(4);
    expect(ours.filter((x) => x.Status === 'COMPLIANT')).toHaveLength(2);
  });

  it('publishes the NonCompliantHosts datapoint the report shows', async () => {
    const cw = new CloudWatchClient({});
    const now = Date.now();
    const stats = await cw.send(
      new GetMetricStatisticsCommand({
        Namespace: 'Fleetwave',
        MetricName: 'NonCompliantHosts',
        Dimensions: [{ Name: 'Fleet', Value: 'parity' }],
        StartTime: new Date(now - 3600_000),
        EndTime: new Date(now + 60_000),
        Period: 3600,
        Statistics: ['Maximum', 'SampleCount'],
      }),
    );
    expect(stats.Datapoints).toEqual([expect.objectContaining({ Maximum: 4, SampleCount: 1 })]);
    expect(t.lab.cloudwatch.datapoints({ namespace: 'Fleetwave', metricName: 'UnknownHosts', dimensions: { Fleet: 'parity' } }).map((p) => p.value)).toEqual([1]);
  });

  it('renders the latest check for the CLI: drifting hosts first, each with its reasons', async () => {
    const check = (await t.lab.store.latestComplianceCheck({ fleetId: 'parity' }))!;
    expect(check.id).toBe(summary.checkId);
    const text = renderComplianceReport(check, await t.lab.store.listComplianceResults(check.id, { fleetId: 'parity' }));
    const rows = text.split('\n').filter((l) => l.startsWith('par-'));
    expect(rows.map((l) => l.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'par-mixed parity NON_COMPLIANT',
      'par-old parity NON_COMPLIANT',
      'par-unpinned parity NON_COMPLIANT',
      'par-offline parity UNKNOWN',
      'par-clean-1 parity COMPLIANT',
      'par-clean-2 parity COMPLIANT',
    ]);
    expect(rows.find((l) => l.startsWith('par-unpinned'))).toMatch(/unpinned-or-latest$/);
    expect(rows.find((l) => l.startsWith('par-offline'))).toMatch(/agent-offline$/);
    expect(text).toContain('6 hosts: 2 compliant, 4 non-compliant (1 of them unknown');
  });

  it('alerts the topic that drift appeared in the fleet', () => {
    const alerts = t.lab.sns.published().filter((a) => a.subject?.includes('parity'));
    expect(alerts.map((a) => a.subject)).toEqual(['fleetwave: version drift in fleet parity']);
    const message = JSON.parse(alerts[0]!.message) as { event: string; drifting: { hostId: string }[] };
    expect(message.event).toBe('drift-appeared');
    expect(message.drifting.map((d) => d.hostId).sort()).toEqual(['par-mixed', 'par-offline', 'par-old', 'par-unpinned']);
  });
});

describe('drift over time', () => {
  let hosts: LabFleetHost[];
  const steadyAlerts = () => t.lab.sns.published().filter((a) => a.subject?.endsWith('fleet steady'));

  beforeAll(async () => {
    hosts = await t.addHosts('steady', [
      { id: 'std-1', tier: 'production', mode: 'embedded', version: '1.5.0' },
      { id: 'std-2', tier: 'production', mode: 'embedded', version: '1.5.0' },
    ]);
    await t.lab.store.setDesiredVersion('steady', '1.5.0');
  }, 60_000);

  it('reports a clean fleet compliant, raises drift when a tag is unpinned and clears it after the fix', async () => {
    const clean = await runCheck({ fleetId: 'steady' });
    expect(clean.status, `${clean.error}: ${clean.cause}`).toBe('SUCCEEDED');
    expect(clean.output).toMatchObject({ hosts: 2, compliant: 2, nonCompliant: 0, unknown: 0, drift: [] });
    expect(steadyAlerts()).toEqual([]);

    pinApiService(hosts[1]!, null);
    const drifted = await runCheck({ fleetId: 'steady' });
    expect(drifted.output).toMatchObject({ compliant: 1, nonCompliant: 1, drift: [{ fleetId: 'steady', event: 'drift-appeared' }] });
    const results = await t.lab.store.listComplianceResults((drifted.output as { checkId: string }).checkId);
    expect(results.find((r) => r.hostId === 'std-2')).toMatchObject({ state: 'NON_COMPLIANT', reasons: ['unpinned-or-latest'] });

    pinApiService(hosts[1]!, '1.5.0');
    const fixed = await runCheck({ fleetId: 'steady' });
    expect(fixed.output).toMatchObject({ compliant: 2, nonCompliant: 0, drift: [{ fleetId: 'steady', event: 'drift-cleared' }] });
    expect(steadyAlerts().map((a) => a.subject)).toEqual([
      'fleetwave: version drift in fleet steady',
      'fleetwave: version drift cleared in fleet steady',
    ]);
    // every check is kept: the fleet's history reads clean → drift → clean
    const latest = await t.lab.store.latestComplianceCheck({ fleetId: 'steady' });
    expect(latest!.id).toBe((fixed.output as { checkId: string }).checkId);
  }, 240_000); // three checks, each bounded by the lab's 60 s floor on an execution timeout

  it('is started by the template schedule for every fleet, and refuses an unknown fleet', async () => {
    const [executionArn, ...more] = t.lab.scheduler.fireSchedules();
    expect(more).toEqual([]);
    expect(executionArn).toContain(':execution:');
    const r = await waitForExecution(t.sfn, executionArn!, () => undefined, 100);
    expect(r.status, `${r.error}: ${r.cause}`).toBe('SUCCEEDED');
    expect(r.output).toMatchObject({ hosts: 8 });

    const bad = await runCheck({ fleetId: 'no-such-fleet' });
    expect(bad.status).toBe('FAILED');
    expect(bad.error).toBe('FleetNotFoundError');
  }, 180_000);
});
