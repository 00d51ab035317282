/**
 * run-events: the Lambda that answers host steps and finishes runs whose
 * execution ended without finishing them (lambdas/run-events/handler.ts), and
 * the three EventBridge rules that invoke it:
 *
 * - SSM "EC2 Command Invocation Status-change Notification" (source aws.ssm)
 *   for the host-step documents reaching a terminal status: the step's task
 *   token is answered at once. Event shape and delivery:
 *   https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html,
 *   best effort: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event.html.
 * - A schedule (the safety poll, SAFETY_POLL_INTERVAL): missed events, the
 *   deadlines of commands SSM never ends, SendTaskHeartbeat and lease renewal.
 * - Step Functions "Execution Status Change" (source aws.states) for
 *   HostUpgrade / HostRollback executions that FAILED, TIMED_OUT or were
 *   ABORTED: an execution-level end cannot be caught inside the execution
 *   (https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html), so
 *   the run is finished here (core/host-run/reconcile.ts).
 */
import { Duration } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { HOST_STEPS } from '../core/models';
import { RunEventsEnv } from '../lambdas/shared/env';
import { documentName } from '../ssm-documents';
import { LEASE_TTL, SAFETY_POLL_INTERVAL } from '../state-machines/step-timeouts';
import type { BackupBucket } from './backup-bucket';
import { FleetwaveFunction } from './fleetwave-function';
import type { HostDocuments } from './host-documents';
import { grantAlertPublish, grantCancelCommand, grantReadCommandOutput, useBackupKey } from './iam';
import { acknowledge } from './nag';
import type { RegistryDatabase } from './registry-database';

/** The invocation statuses after which a command does nothing more (Run Command statuses). */
export const TERMINAL_INVOCATION_STATUSES = ['Success', 'Failed', 'TimedOut', 'Cancelled'] as const;
/** The execution ends run-events finishes a run for (a SUCCEEDED execution finished it itself). */
export const UNFINISHED_EXECUTION_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
/** The safety poll's input: the handler tells it from the two AWS events by this field. */
export const SAFETY_POLL_INPUT = { 'fleetwave-safety-poll': true } as const;

export interface RunEventsProps {
  readonly backups: BackupBucket;
  readonly documents: HostDocuments;
  readonly registry: RegistryDatabase;
  readonly alerts: ITopic;
  /** HostUpgrade and HostRollback: the machines whose runs it finishes. */
  readonly hostMachines: IStateMachine[];
}

export class RunEvents extends Construct {
  readonly fn: FleetwaveFunction;

  constructor(scope: Construct, id: string, props: RunEventsProps) {
    super(scope, id);
    const { registry, backups } = props;
    this.fn = new FleetwaveFunction(this, 'Handler', {
      handlerDir: 'run-events',
      description: 'fleetwave: answer host steps when their SSM command ends; finish runs whose execution ended',
      environmentSchema: RunEventsEnv,
      environment: {
        ...registry.clientEnvironment(),
        LEASE_TTL_SECONDS: String(LEASE_TTL.toSeconds()),
        ALERT_TOPIC_ARN: props.alerts.topicArn,
        OUTPUT_BUCKET: backups.bucket.bucketName,
      },
      // the safety poll walks every open wait; a busy fleet's poll must end well before the next
      timeout: Duration.seconds(Math.min(300, SAFETY_POLL_INTERVAL.toSeconds() - 10)),
      ...registry.clientNetwork(),
    });
    registry.grantConnect(this.fn);
    grantAlertPublish(props.alerts, this.fn);
    this.fn.addToRolePolicy(new PolicyStatement({ sid: 'ReadCommandStatus', actions: ['ssm:GetCommandInvocation'], resources: ['*'] }));
    // a command past its deadline is cancelled (best effort) before its step is answered TimedOut
    grantCancelCommand(this.fn, 'CancelOverdueCommand');
    grantReadCommandOutput(this.fn, backups.bucket);
    this.fn.addToRolePolicy(useBackupKey(backups.key));
    backups.denyDeletesBy([this.fn.role!], 'BackupsCannotBeDeletedByRunEvents');
    backups.denyOverwritesBy([this.fn.role!], 'BackupsCannotBeOverwrittenByRunEvents');
    // SendTask* are authorised by the token, and take no resource ARN (Service Authorization Reference, awsstepfunctions)
    this.fn.addToRolePolicy(
      new PolicyStatement({ sid: 'AnswerHostSteps', actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'], resources: ['*'] }),
    );
    acknowledge(this.fn, ['Resource::*'], 'GetCommandInvocation and the SendTask* callbacks take no resource-level ARN; the task token authorises the answer.');

    const target = new LambdaFunction(this.fn, { retryAttempts: 2, maxEventAge: Duration.hours(1) });
    new Rule(this, 'CommandEnded', {
      description: 'fleetwave: a host step command reached a terminal status',
      eventPattern: {
        source: ['aws.ssm'],
        detailType: ['EC2 Command Invocation Status-change Notification'],
        detail: {
          'document-name': HOST_STEPS.filter((s) => s !== 'inventory').map((s) => documentName(s, props.documents.prefix)),
          status: [...TERMINAL_INVOCATION_STATUSES],
        },
      },
      targets: [target],
    });
    new Rule(this, 'SafetyPoll', {
      description: 'fleetwave: look at every waiting host step (missed events, deadlines, heartbeats, leases)',
      schedule: Schedule.rate(SAFETY_POLL_INTERVAL),
      targets: [new LambdaFunction(this.fn, { event: RuleTargetInput.fromObject(SAFETY_POLL_INPUT), retryAttempts: 0 })],
    });
    new Rule(this, 'ExecutionEnded', {
      description: 'fleetwave: a host workflow execution failed, timed out or was stopped',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: [...UNFINISHED_EXECUTION_STATUSES], stateMachineArn: props.hostMachines.map((m) => m.stateMachineArn) },
      },
      targets: [target],
    });
  }
}
