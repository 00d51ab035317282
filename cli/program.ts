/**
 * The fleetwave command. Every command that reports takes --json; errors name
 * what is wrong and exit non-zero: the one table of exit codes is exit-codes.ts.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { createRegistryPool } from '../core/registry/connect';
import { PgRegistryStore } from '../core/registry/pg-store';
import { redactSecrets } from '../core/redact';
import { complianceReport, complianceRun } from './commands/compliance';
import { fleetApply, readFleetFile } from './commands/fleet';
import { releaseApply, releaseList, releaseWithdraw } from './commands/release';
import { backupsList, hostRollback, hostUpgrade, status } from './commands/host';
import { hostShow, hostUnlock } from './commands/host-lifecycle';
import { rolloutApprove, rolloutRollback, rolloutStart, rolloutStatus, rolloutStop, type RolloutDeps } from './commands/rollout';
import { EXIT, EXIT_CODES, exitCodeOfError, unreachableMessage, unreachableService } from './exit-codes';
import { CliError } from './output';
import { resolveTarget } from './target';

/** Where the registry is, for the "could not reach" sentence: host and port, never the credentials. */
let registryWhere: string | null = null;

async function withDeps<T>(fn: (deps: RolloutDeps) => Promise<T>): Promise<T> {
  const target = resolveTarget();
  try {
    const u = new URL(target.databaseUrl);
    registryWhere = `${u.hostname}:${u.port || 5432}`;
  } catch {
    registryWhere = null;
  }
  // the registry's one pool factory: an 'error' listener (a dropped idle connection must not
  // kill the CLI), waiting out a restarting server, verified TLS for a remote server
  const pool = await createRegistryPool({ databaseUrl: target.databaseUrl, max: 2 });
  try {
    const store = new PgRegistryStore(pool);
    // a fresh account's registry has no tables until something migrates it: the CLI may be first
    await store.migrate();
    return await fn({ target, store });
  } finally {
    await pool.end();
  }
}

/** The version of this fleetwave, from its package.json. */
export function fleetwaveVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('fleetwave')
    .description('Upgrade fleets of self-hosted Semaphor deployments safely: verified backups, waves, automatic restore.')
    // program options only before the command, so `host upgrade --version 1.6.0` keeps its own --version
    .enablePositionalOptions()
    .version(fleetwaveVersion(), '-V, --version', 'print the fleetwave version')
    .showHelpAfterError()
    .addHelpText('after', `\nExit codes:\n${EXIT_CODES.map((e) => `  ${e.code}  ${e.meaning}`).join('\n')}`)
    .configureOutput({ outputError: (str, write) => write(str) });

  const lab = program.command('lab').description('the embedded lab: everything on this machine, no AWS account');
  lab
    .command('up')
    .description('start PostgreSQL, S3, SSM, Step Functions and simulated hosts in the background; keeps what the last lab had unless --fresh')
    .option('--hosts <n>', 'simulated hosts to create', '4')
    .option('--fresh', 'start from nothing: drop the kept registry, S3 objects and hosts')
    .option('--json', 'print the lab description as JSON')
    .action(async (o) => setExit(await (await import('../lab/cli')).labUp(o)));
  lab
    .command('down')
    .description('stop everything `lab up` started, even after the lab process died; the lab folder is kept')
    .action(async () => setExit(await (await import('../lab/cli')).labDown()));
  lab
    .command('status')
    .description('show the running lab')
    .option('--json')
    .action(async (o) => setExit(await (await import('../lab/cli')).labStatus(o)));

  program
    .command('demo')
    .description('run the lab end to end: a small fleet upgraded, one failure restored with its data intact')
    .action(async () => setExit(await (await import('../lab/demo')).runDemo()));

  const fleet = program.command('fleet').description('fleets and their hosts');
  fleet
    .command('apply')
    .argument('<file>', 'fleet file (YAML)')
    .description('make the fleet what the file says: hosts added or changed, hosts the file no longer lists retired (history kept)')
    .option('--dry-run', 'print what would change and the waves a rollout would run, write nothing')
    .option('--json')
    .action(async (file, o) => {
      readFleetFile(file); // a bad file is named before anything is reached
      setExit(await withDeps((d) => fleetApply(d.store, { file, dryRun: o.dryRun, json: o.json })));
    });

  const release = program.command('release').description("the release catalog: the vendor's releases, which are destructive, what each requires, which are withdrawn");
  release
    .command('apply')
    .argument('<file>', 'releases file (YAML or JSON), e.g. releases/semaphor.json')
    .description('check a releases file and register its releases (changes and withdrawals audited)')
    .option('--dry-run', 'check and print what would change, write nothing')
    .option('--json')
    .action(async (file, o) => setExit(await withDeps((d) => releaseApply(d.store, { file, dryRun: o.dryRun, json: o.json }))));
  release
    .command('list')
    .description('every registered release, withdrawn ones included')
    .option('--json')
    .action(async (o) => setExit(await withDeps((d) => releaseList(d.store, o))));
  release
    .command('withdraw')
    .argument('<version>', 'the release to withdraw, e.g. 1.6.1')
    .description('refuse new upgrades to a release; compliance flags the hosts that run it')
    .requiredOption('--reason <text>', 'why, shown to whoever tries to upgrade to it')
    .option('--json')
    .action(async (version, o) => setExit(await withDeps((d) => releaseWithdraw(d.store, { version, reason: o.reason, json: o.json }))));

  const host = program.command('host').description('one host');
  host
    .command('upgrade')
    .description('upgrade one host (HostUpgrade): verified backup first, restore on failure')
    .requiredOption('--host <id>', 'host id')
    .requiredOption('--version <v>', 'pinned release version, e.g. 1.6.0 (never latest)')
    .option('--allow-destructive', 'consent to a release that drops tables or columns')
    .option('--wait', 'follow the execution and show progress')
    .option('--json')
    .action(async (o) => setExit(await withDeps((d) => hostUpgrade(d, o))));

  host
    .command('show')
    .argument('<host>', 'host id')
    .description('one host: state, quarantine reason, lease, runs with their steps, backups, last compliance result')
    .option('--runs <n>', 'how many runs, newest first', '10')
    .option('--json')
    .action(async (hostId, o) => setExit(await withDeps((d) => hostShow(d, { host: hostId, runs: o.runs, json: o.json }))));
  host
    .command('unlock')
    .description('lift a quarantine (ROLLBACK_FAILED) once the host is fixed; refused while a run holds its lease')
    .requiredOption('--host <id>', 'host id')
    .requiredOption('--reason <text>', 'what was done to the host, for the audit log')
    .option('--json')
    .action(async (o) => setExit(await withDeps((d) => hostUnlock(d, o))));

  const rollout = program.command('rollout').description('fleet rollouts in waves (FleetRollout)');
  rollout
    .command('start')
    .description('upgrade a fleet wave by wave; starting it again resumes it without redoing finished hosts')
    .requiredOption('--fleet <id>', 'fleet id')
    .requiredOption('--version <v>', 'pinned release version')
    .option('--allow-destructive', 'consent to a release that drops tables or columns (given at the first start; a resume keeps it)')
    .option('--dry-run', 'print the waves this attempt would run and what changed in the fleet since the first plan; start nothing')
    .option('--wait', 'follow the rollout and show progress')
    .option('--json')
    .action(async (o) => setExit(await withDeps((d) => rolloutStart(d, o))));
  rollout
    .command('status')
    .description('waves and hosts of a rollout (default: the latest)')
    .option('--rollout <id>')
    .option('--fleet <id>')
    .option('--json')
    .action(async (o) => setExit(await withDeps((d) => rolloutStatus(d, o))));
  rollout
    .command('approve')
    .description('let a rollout waiting after staging go on to production')
    .requiredOption('--rollout <id>')
    .option('--json')
    .action(async (o) => setExit(await withDeps((d) => rolloutApprove(d, o))));
  rollout
    .command('stop')
    .description('stop starting new hosts; hosts being upgraded finish')
    .requiredOption('--rollout <id>')
    .option('--json')
    .action(async (o) => setExit(await withDeps((d) => rolloutStop(d, o))));

  program
    .command('rollback')
    .description('restore a host from a verified backup (HostRollback), or every host a rollout upgraded (RolloutRollback)')
    .option('--host <id>', 'host id')
    .option('--rollout <id>', 'roll back every host this rollout upgraded')
    .addOption(new Option('--backup <id>', 'backup id (default: the latest verified one)').conflicts('toVersion'))
    .option('--to-version <v>', 'restore the latest verified backup taken at this version')
    .option('--reason <text>', 'why, for the audit log')
    .option('--force', 'restore even over a later run that changed the host (its changes are discarded)')
    .option('--wait', 'follow the execution and show progress')
    .option('--json')
    .action(async (o) => {
      if (Boolean(o.host) === Boolean(o.rollout)) throw new CliError('rollback needs exactly one of --host H or --rollout R', EXIT.invalidInput);
      setExit(await withDeps((d) => (o.rollout ? rolloutRollback(d, { ...o, rollout: o.rollout }) : hostRollback(d, o))));
    });

  const compliance = program.command('compliance').description('version parity of every host (ComplianceCheck)');
  compliance
    .command('run')
    .description('start a compliance check now (it also runs on its schedule)')
    .option('--fleet <id>', 'only this fleet (default: every fleet)')
    .option('--wait', 'follow the check and print its report')
    .option('--json')
    .action(async (o) => setExit(await withDeps((d) => complianceRun(d, o))));
  compliance
    .command('report')
    .description('the latest check: hosts by state, with each drifting host\'s reasons')
    .option('--fleet <id>', 'only this fleet')
    .option('--json')
    .action(async (o) => setExit(await withDeps((d) => complianceReport(d, o))));

  const backups = program.command('backups').description('host backups');
  backups
    .command('list')
    .description('the verified backups of a host, newest first: the ones a restore can use')
    .requiredOption('--host <id>', 'host id')
    .option('--all', 'also list backups that failed or could not be verified (never restorable)')
    .option('--json')
    .action(async (o) => setExit(await withDeps((d) => backupsList(d, o))));

  program
    .command('status')
    .description('hosts, their versions and last runs')
    .option('--fleet <id>')
    .option('--json')
    .action(async (o) => setExit(await withDeps((d) => status(d, o))));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = EXIT.ok as number;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as Error & { exitCode?: number; code?: string };
    if (e.code?.startsWith('commander.')) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT.ok : EXIT.invalidInput;
    }
    if (err instanceof CliError) {
      process.stderr.write(`fleetwave: ${redactSecrets(e.message)}\n`);
      return e.exitCode!;
    }
    const service = unreachableService(err);
    if (service) {
      process.stderr.write(`fleetwave: ${redactSecrets(unreachableMessage(service, service === 'registry' ? registryWhere : null, e))}\n`);
      return EXIT.unreachable;
    }
    process.stderr.write(`fleetwave: ${redactSecrets(e.message)}\n`);
    return exitCodeOfError(e);
  }
  return exitCode;
}
