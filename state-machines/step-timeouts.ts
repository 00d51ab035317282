/**
 * The bounds that nest, in one place (checked from the synthesized template by
 * test/infra/timeouts.test.ts):
 *
 *   step deadline  <  the step task's TimeoutSeconds
 *   HostRollback's longest path  <  HOST_ROLLBACK_TIMEOUT  <  RESTORE_TASK_TIMEOUT
 *   HostUpgrade's longest path (the restore included)  <  HOST_UPGRADE_TIMEOUT
 *   HOST_UPGRADE_TIMEOUT, HOST_ROLLBACK_TIMEOUT  <  LEASE_TTL
 *
 * An execution's own timeout cannot be caught inside it
 * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html),
 * so every bound inside a machine is reached, and handled by a Catch, before
 * the machine's own; an execution that still times out or is stopped is
 * finished by run-events (lib/run-events.ts, core/host-run/reconcile.ts).
 */
import { Duration } from 'aws-cdk-lib';
import { STEP_EXECUTION_TIMEOUT_SECONDS } from '../core/host-steps/parameters';
import type { HostStep } from '../core/models';

/** SSM TimeoutSeconds of every host step command: how long it may wait for the agent. */
export const DELIVERY_TIMEOUT_SECONDS = 600;
/** Slack on top of delivery + execution before the safety poll reports a step TimedOut itself. */
export const DEADLINE_GRACE_SECONDS = 120;
/** How often run-events looks at every waiting step (missed events, heartbeats, lease renewal). */
export const SAFETY_POLL_INTERVAL = Duration.minutes(2);
/** A step task fails with States.HeartbeatTimeout after this long without a safety poll's heartbeat (five polls missed). */
export const STEP_HEARTBEAT = Duration.minutes(10);

/** send-step's deadline for a step (core/host-steps/send-step.ts stepDeadline), in seconds. */
export const stepDeadlineSeconds = (step: HostStep): number => DELIVERY_TIMEOUT_SECONDS + STEP_EXECUTION_TIMEOUT_SECONDS[step] + DEADLINE_GRACE_SECONDS;

/**
 * The step task's TimeoutSeconds: past the deadline by two safety polls and a
 * minute, so the poll that first sees the deadline passed cancels the command
 * and answers TimedOut (an outcome the machine branches on) before Step
 * Functions would time the task out.
 */
export const stepTaskTimeout = (step: HostStep): Duration =>
  Duration.seconds(stepDeadlineSeconds(step) + 2 * SAFETY_POLL_INTERVAL.toSeconds() + 60);

export const HOST_ROLLBACK_TIMEOUT = Duration.hours(5);
/** HostUpgrade's Restore task (and RolloutBatch's RollbackHost) outwait the child's own timeout. */
export const RESTORE_TASK_TIMEOUT = Duration.minutes(HOST_ROLLBACK_TIMEOUT.toMinutes() + 15);
export const HOST_UPGRADE_TIMEOUT = Duration.hours(18);
/** RolloutBatch's UpgradeHost outwaits HostUpgrade's own timeout. */
export const UPGRADE_TASK_TIMEOUT = Duration.minutes(HOST_UPGRADE_TIMEOUT.toMinutes() + 15);
/** begin-run's lease outlives any execution holding it (renewed by the safety poll while steps run). */
export const LEASE_TTL = Duration.hours(HOST_UPGRADE_TIMEOUT.toHours() + 1);
