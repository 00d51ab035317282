import { DescribeInstanceInformationCommand, ListCommandsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AgentTooOldError,
  agentHonoursEnvVar,
  compareAgentVersions,
  ENV_VAR_MIN_AGENT_VERSION,
  sendStep,
  SsmCommandRunner,
  type SendStepDeps,
} from '../../../core/host-steps';
import { deployedVersions, RUN } from '../../support/steps';

describe('compareAgentVersions', () => {
  it('compares number by number, not as text', () => {
    expect(compareAgentVersions('3.3.10000.0', '3.3.2746.0')).toBeGreaterThan(0);
    expect(compareAgentVersions('3.3.987.0', '3.3.2746.0')).toBeLessThan(0);
    expect(compareAgentVersions('3.10.1.0', '3.9.9999.0')).toBeGreaterThan(0);
    expect(compareAgentVersions('3.3.2746.0', '3.3.2746.0')).toBe(0);
    expect(compareAgentVersions('3.3.2746', '3.3.2746.0')).toBe(0);
  });

  it('refuses what is not an agent version, naming it', () => {
    expect(() => compareAgentVersions('3.3.x', '3.3.2746.0')).toThrow('not an SSM Agent version: "3.3.x"');
  });
});

describe('agentHonoursEnvVar', () => {
  it('is true from 3.3.2746.0 on and false before, or for no version', () => {
    expect(ENV_VAR_MIN_AGENT_VERSION).toBe('3.3.2746.0');
    expect(['3.3.2746.0', '3.3.10000.0', '4.0.0.0'].map(agentHonoursEnvVar)).toEqual([true, true, true]);
    expect(['3.3.2745.0', '3.2.582.0', '2.3.1319.0', '', 'unknown'].map(agentHonoursEnvVar)).toEqual([false, false, false, false, false]);
  });
});

describe('sendStep at preflight', () => {
  const ssmMock = mockClient(SSMClient);
  const ssm = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const deps = (): SendStepDeps => ({ runner: new SsmCommandRunner(ssm, ssm, deployedVersions()), documentPrefix: 'Fleetwave-', outputBucket: 'fw-out', deliveryTimeoutSeconds: 60, graceSeconds: 30 });
  const agent = (AgentVersion: string | undefined) =>
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: RUN.instanceId, AgentVersion }] });
  afterEach(() => ssmMock.reset());

  it('refuses an agent older than 3.3.2746.0, naming both versions, and sends nothing', async () => {
    agent('3.2.582.0');
    const err = await sendStep({ run: RUN, step: 'preflight' }, deps()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentTooOldError);
    expect((err as Error).name).toBe('AgentTooOldError');
    expect((err as Error).message).toContain(`instance ${RUN.instanceId} runs SSM Agent 3.2.582.0; fleetwave needs 3.3.2746.0 or later`);
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)[0]!.args[0].input.Filters).toEqual([{ Key: 'InstanceIds', Values: [RUN.instanceId] }]);
    expect(ssmMock.commandCalls(ListCommandsCommand)).toHaveLength(0);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('refuses a node that reports no agent version', async () => {
    agent(undefined);
    await expect(sendStep({ run: RUN, step: 'preflight' }, deps())).rejects.toThrow(/reports no SSM Agent version; fleetwave needs 3\.3\.2746\.0/);
  });

  it('sends to a newer agent, and leaves a node SSM does not know to SendCommand (InvalidInstanceId)', async () => {
    agent('3.3.10000.0');
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'c-1' } });
    await expect(sendStep({ run: RUN, step: 'preflight' }, deps())).resolves.toMatchObject({ commandId: 'c-1' });

    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    await expect(sendStep({ run: RUN, step: 'preflight', attempt: 1 }, deps())).resolves.toMatchObject({ commandId: 'c-1' });
  });

  it('reads the agent only at preflight, the run\'s first command', async () => {
    agent('3.2.582.0');
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'c-2' } });
    await expect(sendStep({ run: RUN, step: 'restart' }, deps())).resolves.toMatchObject({ commandId: 'c-2' });
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(0);
  });
});
