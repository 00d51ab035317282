/**
 * A simulated host's own role credentials, as SSM Agent keeps them on a
 * hybrid-activated managed node: the node's role session (the IAM service
 * role of its activation, assumed by Systems Manager for the node) written to
 * the root user's shared credentials file, profile `default`, and replaced
 * with a fresh session before the old one expires. The host scripts read the
 * file before every S3 request (ssm-documents/scripts/s3.sh).
 * The node's role is the IAM role of its activation ("This IAM role must
 * provide AssumeRole permissions for the Systems Manager service principal
 * ssm.amazonaws.com"):
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_UpdateManagedInstanceRole.html
 * SSM Agent stores the session in the shared credentials file
 * (amazon-ssm-agent, agent/managedInstances/sharedCredentials: `Store(accessKeyID,
 * secretAccessKey, sessionToken, shareFilePath, profile, force)`,
 * https://pkg.go.dev/github.com/aws/amazon-ssm-agent/agent/managedInstances/sharedCredentials);
 * the file is `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`:
 * https://docs.aws.amazon.com/sdkref/latest/guide/file-location.html
 *
 * Sessions come from the lab's STS (lab/sts.ts), last one simulated hour and
 * are renewed at half their life on the lab clock. A session may touch only
 * its host's backup prefix `backups/<hostId>/`: the grant the host policy
 * (lib/iam/host-access.ts) gives one node.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LabClock } from '../clock';
import type { LabSts } from '../sts';
import { LAB_ACCOUNT, LAB_REGION } from '../template/intrinsics';

/** The role hybrid activations of the lab's hosts name. */
export const LAB_HOST_ROLE_ARN = `arn:aws:iam::${LAB_ACCOUNT}:role/fleetwave-host`;
/** Simulated seconds a host's role session lasts. */
export const HOST_SESSION_SECONDS = 3600;

/** Where SSM Agent shares the node's credentials: root's `~/.aws/credentials` inside the host's root. */
export const hostCredentialsFile = (root: string): string => join(root, 'root', '.aws', 'credentials');

export interface HostCredentialsOptions {
  root: string;
  hostId: string;
  instanceId: string;
  sts: LabSts;
  clock: LabClock;
}

export interface HostCredentials {
  /** Issue a new session now (as the agent does before expiry). */
  refresh(): void;
  stop(): void;
}

export function startHostCredentials(o: HostCredentialsOptions): HostCredentials {
  const file = hostCredentialsFile(o.root);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const refresh = () => {
    if (stopped) return;
    const creds = o.sts.assumeRole({
      roleArn: LAB_HOST_ROLE_ARN,
      sessionName: o.instanceId,
      durationSeconds: HOST_SESSION_SECONDS,
      context: { 'ssm:SourceInstanceARN': `arn:aws:ssm:${LAB_REGION}:${LAB_ACCOUNT}:managed-instance/${o.instanceId}` },
      access: { objectPrefixes: [`backups/${o.hostId}/`] },
    });
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const text = `[default]\naws_access_key_id = ${creds.accessKeyId}\naws_secret_access_key = ${creds.secretAccessKey}\naws_session_token = ${creds.sessionToken}\n`;
      writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
      renameSync(`${file}.tmp`, file); // a reader never sees half a file
    } catch {
      stopped = true; // the host's folder is gone
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(refresh, o.clock.real((HOST_SESSION_SECONDS * 1000) / 2));
    timer.unref();
  };
  refresh();
  return {
    refresh,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** What a lab host's environment adds for S3: the lab's endpoint (AWS_ENDPOINT_URL_S3) and where its credentials file is. */
export function hostAwsEnv(root: string, s3Endpoint: string): Record<string, string> {
  return { AWS_ENDPOINT_URL_S3: s3Endpoint, AWS_SHARED_CREDENTIALS_FILE: hostCredentialsFile(root) };
}
