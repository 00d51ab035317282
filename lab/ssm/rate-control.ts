/**
 * Run Command's rate control, as SendCommand documents it
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html,
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/send-commands-multiple.html):
 *
 * - `MaxConcurrency` (default 50): "the maximum number of managed nodes that
 *   are allowed to run the command at the same time", a number or a
 *   percentage of the targets; the others wait (Pending) until one finishes.
 * - `MaxErrors` (default 0): "When the command fails one more time beyond
 *   the value of MaxErrors, the systems stops sending the command to
 *   additional targets"; invocations already sent run to their end. The
 *   lab ends the targets it never sent to as Cancelled (the lab's reading:
 *   they never ran, and the command's status follows from the errors).
 *
 * Not modelled: the gradual start SSM may use before it reaches
 * MaxConcurrency. service.ts asks `nextToSend` whenever a command is sent or
 * one of its invocations ends.
 */
import { TERMINAL, type CommandState, type InvocationState } from './commands';

/** A number, or a percentage of `targets` (at least one node). */
function countOf(value: string, targets: number, min: number): number {
  const percent = /^([0-9]{1,3})%$/.exec(value);
  if (percent) return Math.max(min, Math.floor((Number(percent[1]) / 100) * targets));
  const n = Number(value);
  return Number.isFinite(n) ? Math.max(min, n) : min;
}

/** Errors a command tolerates before it stops sending: MaxErrors as a count. */
export const maxErrorsCount = (maxErrors: string, targets: number): number => countOf(maxErrors, targets, 0);

/** Nodes that may run the command at once: MaxConcurrency as a count. */
export const maxConcurrencyCount = (maxConcurrency: string, targets: number): number => countOf(maxConcurrency, targets, 1);

/** Failed or execution-timed-out invocations: what MaxErrors counts. */
export function commandErrors(command: CommandState): number {
  let errors = 0;
  for (const i of command.invocations.values()) {
    if ((i.status === 'Failed' && i.statusDetails !== 'Undeliverable') || i.statusDetails === 'ExecutionTimedOut') errors += 1;
  }
  return errors;
}

/**
 * What rate control does now: the invocations to send (at most
 * MaxConcurrency in flight), and the unsent ones to drop once the errors
 * are past MaxErrors.
 */
export function nextToSend(command: CommandState): { send: InvocationState[]; drop: InvocationState[] } {
  const all = [...command.invocations.values()];
  const unsent = all.filter((i) => !i.sent && !TERMINAL.has(i.status));
  if (commandErrors(command) > maxErrorsCount(command.maxErrors, all.length)) return { send: [], drop: unsent };
  const inFlight = all.filter((i) => i.sent && !TERMINAL.has(i.status)).length;
  const room = Math.max(0, maxConcurrencyCount(command.maxConcurrency, all.length) - inFlight);
  return { send: unsent.slice(0, room), drop: [] };
}
