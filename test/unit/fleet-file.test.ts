import { describe, expect, it } from 'vitest';
import { FleetFileError, parseFleetFile } from '../../core/fleet-file';

const good = `
fleet: acme
hosts:
  - { id: stg-1, instanceId: i-0000000000000001a, tier: staging, databaseMode: embedded, composeDir: /opt/semaphor, healthUrl: "http://10.0.0.1:3000/api/health" }
  - { id: prod-1, instanceId: i-0000000000000002b, tier: production, databaseMode: external, composeDir: /opt/semaphor, healthUrl: "http://10.0.0.2:3000/api/health" }
waves:
  - { tier: staging, hosts: 100% }
  - { tier: production, hosts: 1, failureThreshold: 0 }
failurePolicy: rollback-wave
`;

const problems = (text: string): string[] => {
  try {
    parseFleetFile(text);
  } catch (err) {
    if (err instanceof FleetFileError) return err.problems;
    throw err;
  }
  throw new Error('expected the fleet file to be refused');
};

describe('fleet file', () => {
  it('parses a valid file with defaults', () => {
    const f = parseFleetFile(good);
    expect(f.hosts).toHaveLength(2);
    expect(f).toMatchObject({ concurrency: 5, bakeMinutes: 0, failurePolicy: 'rollback-wave', appProfile: 'semaphor' });
  });

  it('names an unknown tier by its field', () => {
    expect(problems(good.replace('tier: production, databaseMode', 'tier: prod, databaseMode'))).toEqual(['hosts[1].tier: tier must be staging or production']);
  });

  it('names a duplicate host', () => {
    expect(problems(good.replace('id: prod-1', 'id: stg-1')).join()).toMatch(/hosts\[1\]\.id: duplicate host id stg-1/);
  });

  it('refuses unknown fields instead of ignoring them', () => {
    expect(problems(`${good}\nfailurePolicyy: halt\n`).join()).toMatch(/failurePolicyy/);
  });

  it('refuses hostile values in host fields', () => {
    const p = problems(good.replace('composeDir: /opt/semaphor, healthUrl: "http://10.0.0.1', 'composeDir: "/opt/$(id)", healthUrl: "http://10.0.0.1'));
    expect(p.join()).toMatch(/hosts\[0\]\.composeDir/);
  });

  it('refuses a staging wave after production, and a tier no wave takes', () => {
    const swapped = good.replace('  - { tier: staging, hosts: 100% }\n  - { tier: production, hosts: 1, failureThreshold: 0 }', '  - { tier: production, hosts: 1 }\n  - { tier: staging, hosts: 100% }');
    expect(problems(swapped).join()).toMatch(/waves\[1\]\.tier: staging waves must come before/);
    const noProd = good.replace('  - { tier: production, hosts: 1, failureThreshold: 0 }\n', '');
    expect(problems(noProd).join()).toMatch(/no wave takes the 1 production host/);
  });

  it('reports broken YAML as such', () => {
    expect(problems('fleet: [unclosed')[0]).toMatch(/not valid YAML/);
  });
});
