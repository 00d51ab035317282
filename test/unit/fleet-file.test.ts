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

describe('fleet file: what later steps would refuse is refused at apply time', () => {
  it('refuses a health-check policy that begin-run would refuse (passes: 100 do not fit the default timeout)', () => {
    const p = problems(`${good}healthCheck: { passes: 100 }\n`);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^healthCheck: /);
    expect(p[0]).toMatch(/100 passes/);
    expect(p[0]).toMatch(/timeoutSeconds/);
  });

  it('accepts a health-check policy whose timeout leaves room for its passes', () => {
    expect(parseFleetFile(`${good}healthCheck: { passes: 100, intervalSeconds: 1, timeoutSeconds: 120 }\n`).healthCheck).toEqual({ passes: 100, intervalSeconds: 1, timeoutSeconds: 120 });
  });

  it('refuses a failure threshold that lets every host of its wave fail', () => {
    const p = problems(good.replace('{ tier: production, hosts: 1, failureThreshold: 0 }', '{ tier: production, hosts: 1, failureThreshold: 1 }'));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^waves\[1\]\.failureThreshold: /);
    expect(p[0]).toMatch(/1 host/);
  });

  it('refuses a system directory as compose dir', () => {
    for (const dir of ['/etc', '/etc/semaphor', '/usr/bin', '/proc/1', '/var', '/root']) {
      const text = good.replace('composeDir: /opt/semaphor, healthUrl: "http://10.0.0.1', `composeDir: "${dir}", healthUrl: "http://10.0.0.1`);
      const p = problems(text);
      expect(p, dir).toHaveLength(1);
      expect(p[0], dir).toMatch(/^hosts\[0\]\.composeDir: .*system directory/);
    }
  });

  it('refuses a health URL at a link-local or instance-metadata address, however it is spelled', () => {
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://169.254.10.1:3000/api/health', 'http://2852039166/', 'http://0xa9fea9fe/', 'http://instance-data/latest', 'http://metadata.google.internal/']) {
      const p = problems(good.replace('healthUrl: "http://10.0.0.1:3000/api/health"', `healthUrl: "${url}"`));
      expect(p, url).toHaveLength(1);
      expect(p[0], url).toMatch(/^hosts\[0\]\.healthUrl: .*(link-local|metadata)/);
    }
  });

  it('names a bad field in words, not with a regular expression', () => {
    const p = problems(good.replace('id: stg-1', 'id: Stg_1').replace('failurePolicy: rollback-wave', 'desiredVersion: "1.6"'));
    expect(p.find((x) => x.startsWith('hosts[0].id'))).toMatch(/like acme-prod-1/);
    expect(p.find((x) => x.startsWith('desiredVersion'))).toMatch(/a version like 1\.6\.0/);
    for (const x of p) expect(x).not.toMatch(/\^|\$|\[A-Z|\\d|\{0,/);
  });
});
