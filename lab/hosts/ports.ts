/**
 * Ports for the simulated hosts' published api-service:3000, unique across
 * every lab on this machine (parallel test workers, a `lab up` beside the
 * tests). A port from `listen(0)` is not enough: it comes from the ephemeral
 * range, so an outgoing connection may be given it while the host's app is
 * down during its upgrade, and another lab may be given it too and start a
 * host of its own there ("answered by host clean-p1, not tol-s1"). Docker
 * publishes a fixed port per host; the lab gives each host one of its own:
 * - from HOST_PORT_RANGE, below Linux's default ephemeral range (32768-60999),
 *   so no outgoing socket takes it;
 * - reserved by creating `<tmpdir>/fleetwave-host-ports/<port>` exclusively,
 *   with the owner's pid in it; a reservation whose process is gone is stale
 *   and taken over; `releaseHostPort` removes it when the host is destroyed;
 * - and bindable right now.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HOST_PORT_RANGE = { first: 20_000, last: 32_767 } as const;
const DIR = join(tmpdir(), 'fleetwave-host-ports');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function claim(port: number): boolean {
  const file = join(DIR, String(port));
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const owner = Number(readFileSync(file, 'utf8').trim());
  if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
  // stale: its process is gone; remove and race for it once more
  rmSync(file, { force: true });
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/** A port of HOST_PORT_RANGE reserved for this process's new host. */
export async function reserveHostPort(): Promise<number> {
  mkdirSync(DIR, { recursive: true });
  const span = HOST_PORT_RANGE.last - HOST_PORT_RANGE.first + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = HOST_PORT_RANGE.first + ((start + i) % span);
    if (!claim(port)) continue;
    if (await bindable(port)) return port;
    releaseHostPort(port);
  }
  throw new Error(`no free host port left in ${HOST_PORT_RANGE.first}-${HOST_PORT_RANGE.last}: remove ${DIR} if no lab is running`);
}

/** Gives a host's port back (the host was destroyed). */
export function releaseHostPort(port: number): void {
  const file = join(DIR, String(port));
  try {
    if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, { force: true });
  } catch {
    // not reserved by us, or already gone
  }
}
