/** Hand-written state machines for the engine's own tests (engine.test.ts, limits.test.ts). */
import { emptyLabTemplate, type LabTemplate } from '../../../lab/template';

export const arnOf = (name: string) => `arn:aws:states:us-east-1:000000000000:stateMachine:${name}`;

/** A template holding just these definitions, by state machine name. */
export function templateWith(machines: Record<string, object>): LabTemplate {
  return {
    ...emptyLabTemplate('/nonexistent', ['T']),
    stateMachines: Object.fromEntries(
      Object.entries(machines).map(([name, definition]) => [
        name,
        { logicalId: name, arn: arnOf(name), name, type: 'STANDARD' as const, definition: definition as Record<string, unknown>, definitionString: JSON.stringify(definition), roleArn: undefined },
      ]),
    ),
  };
}
