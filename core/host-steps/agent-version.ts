/**
 * The SSM Agent a host must run for fleetwave's documents to work at all.
 *
 * Every parameter reaches the scripts as an `SSM_<Name>` environment variable
 * (`interpolationType: ENV_VAR`), which SSM Agent honours from 3.3.2746.0 on;
 * an older agent ignores the field and runs the script with the variables
 * unset ("Verify SSM Agent version is 3.3.2746.0 or later", Systems Manager
 * user guide, parameter-troubleshooting.html). Preflight refuses such a host
 * before any script runs (send-step.ts).
 */

/** The first SSM Agent release that sets `SSM_<Name>` for `interpolationType: ENV_VAR` parameters. */
export const ENV_VAR_MIN_AGENT_VERSION = '3.3.2746.0';

/** SSM Agent versions are four dot-separated numbers (`3.3.2746.0`). */
const AGENT_VERSION = /^[0-9]{1,9}(\.[0-9]{1,9}){1,3}$/;

/** The version's numbers, or null when it is not an agent version. */
function components(version: string): number[] | null {
  return AGENT_VERSION.test(version) ? version.split('.').map(Number) : null;
}

/**
 * Compares two agent versions number by number (3.3.10000.0 is newer than
 * 3.3.2746.0, which a comparison of the strings would get wrong); a missing
 * trailing number counts as 0. Negative when `a` is older, 0 when equal,
 * positive when newer. Throws when either is not an agent version.
 */
export function compareAgentVersions(a: string, b: string): number {
  const x = components(a);
  const y = components(b);
  if (!x || !y) throw new Error(`not an SSM Agent version: ${JSON.stringify(x ? b : a)}`);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** True when an agent of this version sets the `SSM_<Name>` variables; false when older or not a version. */
export function agentHonoursEnvVar(version: string): boolean {
  return components(version) !== null && compareAgentVersions(version, ENV_VAR_MIN_AGENT_VERSION) >= 0;
}

/**
 * The host's SSM Agent is too old for fleetwave's documents (or says no
 * version). Nothing was sent to the host. The state machine records it at
 * the preflight step (`preflight-failed`); the message names the version
 * found and the minimum.
 */
export class AgentTooOldError extends Error {
  override readonly name = 'AgentTooOldError';
  constructor(
    readonly instanceId: string,
    readonly agentVersion: string | null,
  ) {
    super(
      agentVersion
        ? `instance ${instanceId} runs SSM Agent ${agentVersion}; fleetwave needs ${ENV_VAR_MIN_AGENT_VERSION} or later, ` +
            `which passes the step parameters to the scripts (an older agent runs them with the parameters unset). ` +
            `Update the agent on the host (AWS-UpdateSSMAgent) and run again; nothing was changed on the host.`
        : `instance ${instanceId} reports no SSM Agent version; fleetwave needs ${ENV_VAR_MIN_AGENT_VERSION} or later. Nothing was changed on the host.`,
    );
  }
}

/** Reads one managed node's agent version (DescribeInstanceInformation). */
export interface AgentVersionReader {
  /** The node's AgentVersion, '' when SSM reports none; null when SSM does not know the node. */
  agentVersion(instanceId: string): Promise<string | null>;
}

/**
 * Refuses a host whose agent would run the scripts without their parameters.
 * A node SSM does not know passes: SendCommand then refuses it
 * (InvalidInstanceId → HostUnreachableError), the one path for unreachable nodes.
 * @throws AgentTooOldError (too old, or no version reported)
 */
export async function requireEnvVarAgent(instanceId: string, reader: AgentVersionReader): Promise<void> {
  const version = await reader.agentVersion(instanceId);
  if (version === null || agentHonoursEnvVar(version)) return;
  throw new AgentTooOldError(instanceId, version === '' ? null : version);
}
