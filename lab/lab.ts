/**
 * The lab: fleetwave's workflows on one machine. Starts PostgreSQL (or uses
 * DATABASE_URL), S3 (s3rver), Secrets Manager, SNS, SSM with one agent per
 * simulated host, and Step Functions running the definitions the CDK app
 * synthesizes, whose Lambda tasks are the real bundled handlers.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import type pg from 'pg';
import { buildApp } from '../lib/app';
import { createRegistryPool } from '../core/registry/connect';
import { PgRegistryStore } from '../core/registry/pg-store';
import type { LabFile } from '../cli/target';
import { startPostgres, type PostgresServer } from './postgres';
import { LAB_S3_CREDENTIALS, labSts, startS3, type LabS3 } from './s3';
import type { LabSts } from './sts';
import { ensureRegistryDatabase, rotateRegistryPassword } from './registry-db';
import { labSecretArn, labSecretsClient, readPersistedSecrets, startSecretsManager, type LabSecrets } from './secrets';
import { startSns, type LabSns } from './sns';
import { startCloudWatch, type LabCloudWatch } from './cloudwatch';
import { startEvents, type LabEvents } from './events';
import { startScheduler, type LabScheduler } from './scheduler';
import { startSsm, type LabSsm } from './ssm';
import { deployCustomResources, LAB_ACCOUNT, loadCloudAssembly, LAB_REGION, type LabTemplate } from './template';
import { createLambdaRuntime, type LambdaRuntime } from './sfn/lambda-runtime';
import { startStepFunctions, type StepFunctionsLab } from './sfn/server';
import { labClock, REAL_TIME, type LabClock } from './clock';
import { registerLabReleases } from './fleet';
import { startLabApi, type LabApi } from './api';
import { startCognito, type LabCognito } from './cognito';

export interface LabOptions {
  /** Folder for everything the lab keeps: pg data, s3 objects, hosts, cdk.out. */
  dir: string;
  /**
   * Real seconds per simulated second for every duration the lab enforces
   * (lab/clock.ts): Wait states, Retry intervals, Task, heartbeat and
   * execution timeouts, Lambda timeouts, SSM delivery and execution timeouts.
   * Default 0.1 (a 5 s poll lasts 0.5 s, a 60 s Lambda
   * timeout the clock's floor).
   */
  timeScale?: number;
  /** Fire the template's schedules (the compliance check) this often; default only on demand (`lab.scheduler.fireSchedules()`). */
  scheduleIntervalMs?: number;
  /** Keep the registry and objects from an earlier lab in `dir` (default: start clean). */
  keep?: boolean;
  /** Registry database name on the server (default `fleetwave`). */
  databaseName?: string;
  /**
   * A cloud assembly made by `synthesize` (the test suite makes one per run
   * and shares it between labs); default: synthesize into `dir/cdk.out`.
   */
  assemblyDir?: string;
  log?: (line: string) => void;
  /** Register the vendor's releases file at start, as `release apply` would (default true; false: an empty registry). */
  registerReleases?: boolean;
}

export interface Lab {
  dir: string;
  /** The one time scale every lab component compresses durations by. */
  clock: LabClock;
  /** Issues the hosts' role sessions (expiring on the lab clock); the lab's S3 accepts only what it knows. */
  sts: LabSts;
  /** The registry role's URL (its password changes with `rotateRegistryPassword`). */
  databaseUrl: string;
  /** The server's superuser URL: what makes the hosts' external databases (a customer's own server on AWS). */
  adminDatabaseUrl: string;
  /** The lab's own PostgreSQL server, or null when DATABASE_URL named one. */
  postgres: PostgresServer | null;
  /**
   * Rotates the registry role's password the way Secrets Manager's
   * single-user rotation does (lab/registry-db.ts); `afterSetSecret` runs
   * while the database already wants the new password and the secret's
   * AWSCURRENT still holds the old one.
   */
  rotateRegistryPassword(afterSetSecret?: () => Promise<void>): Promise<void>;
  store: PgRegistryStore;
  template: LabTemplate;
  s3: LabS3;
  ssm: LabSsm;
  sns: LabSns;
  cloudwatch: LabCloudWatch;
  scheduler: LabScheduler;
  /** EventBridge's default bus: SSM and Step Functions events to the template's rules (lab/events.ts). */
  events: LabEvents;
  secrets: LabSecrets;
  sfn: StepFunctionsLab;
  lambda: LambdaRuntime;
  /** The operator API behind the lab's API Gateway, and the console (lab/api.ts). */
  api: LabApi;
  /** The console's user pool (lab/cognito.ts). */
  cognito: LabCognito;
  stateMachines: { hostUpgrade: string; hostRollback: string } & Record<string, string>;
  backupBucket: string;
  /** The environment that points an SDK client at this lab. */
  env: Record<string, string>;
  describe(hosts?: LabFile['hosts']): LabFile;
  close(): Promise<void>;
}

const REGISTRY_SECRET_NAME = 'fleetwave-lab-registry';
/** The same in every lab (see labSecretArn), so one synthesized app fits them all. */
const REGISTRY_SECRET_ARN = labSecretArn(REGISTRY_SECRET_NAME, LAB_REGION, LAB_ACCOUNT);

/** Synthesize the real CDK app (bundles included), pointed at the lab's registry secret. */
export function synthesize(outdir: string): LabTemplate {
  rmSync(outdir, { recursive: true, force: true });
  const app = new App({ outdir, context: { registrySecretArn: REGISTRY_SECRET_ARN, stackName: 'Fleetwave' } });
  buildApp(app);
  app.synth();
  return loadCloudAssembly(outdir);
}

/** An assembly synthesized earlier, refused when it points at another registry secret than the lab's. */
function loadLabAssembly(assemblyDir: string): LabTemplate {
  const template = loadCloudAssembly(assemblyDir);
  const secretArn = template.outputs.RegistrySecretArn;
  if (secretArn !== REGISTRY_SECRET_ARN) {
    throw new Error(`the cloud assembly in ${assemblyDir} uses the registry secret ${secretArn ?? '(none)'}, not the lab's ${REGISTRY_SECRET_ARN}: make it with synthesize() from lab/lab.ts`);
  }
  return template;
}

export async function startLab(options: LabOptions): Promise<Lab> {
  const dir = resolve(options.dir);
  const log = options.log ?? (() => undefined);
  const clock = labClock(options.timeScale ?? 0.1);
  if (!options.keep) {
    for (const sub of ['pg', 's3', 'hosts', 'cdk.out', 'history', 'secrets.json']) rmSync(join(dir, sub), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    let pgServer: PostgresServer | null = null;
    let adminUrl = process.env.DATABASE_URL;
    if (!adminUrl) {
      log('starting PostgreSQL');
      pgServer = await startPostgres(join(dir, 'pg'));
      closers.push(() => pgServer!.stop());
      adminUrl = pgServer.url;
    }
    const databaseName = options.databaseName ?? 'fleetwave';
    // a kept lab serves the registry password it last had (a rotation included)
    const secretsFile = join(dir, 'secrets.json');
    const kept = options.keep ? readPersistedSecrets(secretsFile)[REGISTRY_SECRET_NAME] : undefined;
    const registry = await ensureRegistryDatabase(adminUrl, databaseName, kept ? (JSON.parse(kept) as { password: string }).password : undefined);
    const secrets = await startSecretsManager({
      region: LAB_REGION,
      accountId: LAB_ACCOUNT,
      file: secretsFile,
      secrets: { [REGISTRY_SECRET_NAME]: registry.secret },
    });
    closers.push(() => secrets.close());
    // the lab's own store reads the registry through the same recovering pool the Lambdas use
    const pool = await createRegistryPool({
      secretArn: REGISTRY_SECRET_ARN,
      secretsManager: labSecretsClient(secrets.endpoint, LAB_REGION),
      max: 4,
      onError: (err) => log(`registry connection error: ${err.message}`),
    });
    closers.push(() => pool.end());
    const store = new PgRegistryStore(pool);
    await store.migrate();
    if (options.registerReleases !== false) await registerLabReleases({ store }); // the vendor's releases file, as `release apply` registers it

    let template: LabTemplate;
    if (options.assemblyDir) template = loadLabAssembly(options.assemblyDir);
    else {
      log('synthesizing the CDK app');
      template = synthesize(join(dir, 'cdk.out'));
    }
    const backupBucket = Object.values(template.buckets).find((b) => b.logicalId.startsWith('BackupsBucket'))?.bucketName;
    if (!backupBucket) throw new Error('the synthesized template has no backup bucket');

    // one STS for the lab: the lab user's keys and every host's role sessions, on the lab clock
    const sts = labSts(clock);
    const s3 = await startS3({ directory: join(dir, 's3'), buckets: Object.values(template.buckets).map((b) => b.bucketName), sts, clock });
    closers.push(() => s3.close());
    const sns = await startSns({ onPublish: (a) => log(`alert published: ${a.subject ?? ''}`) });
    closers.push(() => sns.close());
    const cloudwatch = await startCloudWatch();
    closers.push(() => cloudwatch.close());

    const documents = new Map<string, object>(Object.values(template.documents).map((d) => [d.name, d.content as object]));
    const ssm = await startSsm({ documents, s3: { endpoint: s3.endpoint }, region: LAB_REGION, clock });
    closers.push(() => ssm.close());

    const env: Record<string, string> = {
      AWS_REGION: LAB_REGION,
      AWS_DEFAULT_REGION: LAB_REGION,
      AWS_ACCESS_KEY_ID: LAB_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LAB_S3_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_SSM: ssm.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_ENDPOINT_URL_SNS: sns.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudwatch.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    // as CloudFormation does once the documents exist: the custom resources read their deployed versions
    template = await deployCustomResources(template, env);
    // the console's origin, which CloudFormation resolves from the distribution on AWS
    let consoleOrigin = '';
    const lambda = createLambdaRuntime({
      functions: template.functions,
      extraEnv: (fn) => {
        // The runtime's CA bundle path does not exist here; the lab registry is local.
        const { NODE_EXTRA_CA_CERTS: _ca, ...rest } = fn.env;
        return { ...rest, ...env, ...('CONSOLE_ORIGINS' in rest ? { CONSOLE_ORIGINS: consoleOrigin } : {}) };
      },
      onLog: (fn, stream, line) => log(`[${fn}] ${line}`),
      clock,
    });
    closers.push(() => lambda.close());
    const sfn = await startStepFunctions({
      template,
      lambda,
      clock,
      historyDir: join(dir, 'history'),
    });
    closers.push(() => sfn.close());
    env.AWS_ENDPOINT_URL_SFN = sfn.endpoint;
    const scheduler = startScheduler({
      template,
      target: { startExecution: (input) => sfn.engine.startExecution(input) },
      intervalMs: options.scheduleIntervalMs,
      log,
    });
    closers.push(() => scheduler.close());
    const events = startEvents({ template, lambda, clock, account: LAB_ACCOUNT, region: LAB_REGION, log });
    closers.push(() => events.close());
    // SSM and Step Functions send their status changes to EventBridge, as on AWS
    ssm.onInvocationStatusChange((c) =>
      events.put({
        source: 'aws.ssm',
        'detail-type': 'EC2 Command Invocation Status-change Notification',
        resources: [`arn:aws:ec2:${LAB_REGION}:${LAB_ACCOUNT}:instance/${c.instanceId}`],
        detail: {
          'command-id': c.commandId,
          'document-name': c.documentName,
          'instance-id': c.instanceId,
          'requested-date-time': new Date(c.requestedAt).toISOString(),
          status: c.status,
        },
      }),
    );
    sfn.engine.onExecutionStatusChange((c) =>
      events.put({
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        resources: [c.executionArn],
        detail: {
          executionArn: c.executionArn,
          stateMachineArn: c.stateMachineArn,
          name: c.name,
          status: c.status,
          startDate: c.startDate,
          stopDate: c.stopDate ?? null,
          input: c.input,
          output: c.output ?? null,
          error: c.error ?? null,
          cause: c.cause ?? null,
        },
      }),
    );

    const operatorFn = Object.values(template.functions).find((f) => f.logicalId.startsWith('OperatorHandler'));
    if (!operatorFn) throw new Error('the synthesized template has no operator API function');
    // Token lifetimes stay unscaled for now: the console has no refresh (console/js/api.js signs in
    // again once its token expires), so a one-hour token on the lab's scale (72 s at 0.02) ends a
    // console session mid-rollout. Scale them (`clock`) once the console refreshes its token.
    const cognito = await startCognito({ clock: REAL_TIME });
    closers.push(() => cognito.close());
    const api = await startLabApi({
      lambda,
      functionName: operatorFn.functionName,
      cognito,
      identities: [{ ...LAB_S3_CREDENTIALS, arn: `arn:aws:iam::${LAB_ACCOUNT}:user/lab-operator` }],
      log,
    });
    closers.push(() => api.close());
    consoleOrigin = new URL(api.consoleUrl).origin;

    const sm = (prefix: string) => {
      const found = Object.values(template.stateMachines).find((m) => m.logicalId.startsWith(prefix));
      if (!found) throw new Error(`the synthesized template has no ${prefix} state machine`);
      return found.arn;
    };
    const stateMachines = {
      hostUpgrade: sm('HostUpgrade'),
      hostRollback: sm('HostRollback'),
      fleetRollout: sm('FleetRollout'),
      rolloutRollback: sm('RolloutRollback'),
      rolloutBatch: sm('RolloutBatch'),
      complianceCheck: sm('ComplianceCheck'),
    };
    const lab: Lab = {
      dir,
      clock,
      sts,
      databaseUrl: registry.url,
      adminDatabaseUrl: adminUrl,
      postgres: pgServer,
      rotateRegistryPassword: async (afterSetSecret) => {
        const rotated = await rotateRegistryPassword({ adminUrl: adminUrl!, secrets, secretName: REGISTRY_SECRET_NAME, afterSetSecret });
        lab.databaseUrl = rotated.url;
      },
      store,
      template,
      s3,
      ssm,
      sns,
      cloudwatch,
      scheduler,
      events,
      secrets,
      sfn,
      lambda,
      api,
      cognito,
      stateMachines,
      backupBucket,
      env,
      describe: (hosts = []) => ({
        version: 1,
        pid: process.pid,
        dir,
        region: LAB_REGION,
        credentials: { ...LAB_S3_CREDENTIALS },
        endpoints: { sfn: sfn.endpoint, ssm: ssm.endpoint, s3: s3.endpoint, secretsManager: secrets.endpoint, sns: sns.endpoint, api: `${api.url}/api` },
        console: { url: api.consoleUrl, username: cognito.user.username, password: cognito.user.password },
        databaseUrl: lab.databaseUrl,
        stateMachines,
        backupBucket,
        hosts,
      }),
      close,
    };
    return lab;
  } catch (err) {
    await close();
    throw err;
  }
}

export function writeLabFile(lab: Lab, hosts: LabFile['hosts']): string {
  const file = join(lab.dir, 'lab.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(lab.describe(hosts), null, 2));
  renameSync(`${file}.tmp`, file); // readers never see half a file
  return file;
}
