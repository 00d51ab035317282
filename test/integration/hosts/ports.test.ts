/**
 * Host ports are unique across labs: two labs (test workers) once gave the
 * same listen(0) port to hosts of their own, and a health check was answered
 * by the other lab's host ("answered by host clean-p1, not tol-s1").
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOST_PORT_RANGE, releaseHostPort, reserveHostPort } from '../../../lab/hosts';

const file = (port: number) => join(tmpdir(), 'fleetwave-host-ports', String(port));

describe('host ports', () => {
  it('are reserved below the ephemeral range, each once, until released', async () => {
    const ports = await Promise.all(Array.from({ length: 40 }, () => reserveHostPort()));
    expect(new Set(ports).size).toBe(40);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(HOST_PORT_RANGE.first);
      expect(p).toBeLessThan(32768);
      expect(readFileSync(file(p), 'utf8')).toBe(String(process.pid));
    }
    for (const p of ports) releaseHostPort(p);
    expect(ports.filter((p) => existsSync(file(p)))).toEqual([]);
  });

  it("never releases another process's reservation", async () => {
    const port = await reserveHostPort();
    writeFileSync(file(port), String(process.ppid));
    releaseHostPort(port);
    expect(readFileSync(file(port), 'utf8')).toBe(String(process.ppid));
    writeFileSync(file(port), String(process.pid));
    releaseHostPort(port);
    expect(existsSync(file(port))).toBe(false);
  });
});
