/**
 * What every fleetwave state machine is, whatever its steps: STANDARD, with
 * an execution timeout, X-Ray tracing, every event logged without execution
 * data (inputs and outputs carry hosts, backups and errors, never to be kept
 * in logs), and the cdk-nag findings its generated role raises acknowledged
 * by name.
 */
import type { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType, type IChainable, type IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct, IConstruct } from 'constructs';
import { acknowledge, logicalIdOf, nagArn, nagAttribute, wildcardResource } from '../lib/nag';

export interface FleetwaveStateMachineProps {
  readonly definition: IChainable;
  readonly comment: string;
  /** The execution timeout: past it the execution fails, whatever state it is in. */
  readonly timeout: Duration;
  readonly logGroup: ILogGroup;
  readonly stateMachineName?: string;
  /** Every function the definition invokes (their `:*` grants are acknowledged). */
  readonly invokes: IFunction[];
  /** Every state machine the definition starts as a child (`startExecution.sync:2`). */
  readonly children?: IStateMachine[];
}

export class FleetwaveStateMachine extends StateMachine {
  constructor(scope: Construct, id: string, props: FleetwaveStateMachineProps) {
    super(scope, id, {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(props.definition),
      timeout: props.timeout,
      tracingEnabled: true,
      comment: props.comment,
      logs: { destination: props.logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });
    acknowledgeFunctionInvokes(this, props.invokes);
    if (props.children?.length) acknowledgeChildExecutions(this, props.children);
  }
}

/**
 * The state machine role may invoke any version of its task functions
 * (`<arn>:*`), which CDK grants and cdk-nag flags; acknowledge exactly those.
 */
function acknowledgeFunctionInvokes(machine: IConstruct, functions: IFunction[]): void {
  const ids = functions.map((fn) => wildcardResource(`${nagAttribute(fn)}:*`));
  acknowledge(machine, ids, 'Step Functions invokes the task functions by ARN; the :* grant covers their versions and aliases only.');
  acknowledge(
    machine,
    [wildcardResource('*')],
    'X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) support no resource-level permissions.',
  );
}

/**
 * `.sync` child executions need Describe/StopExecution on the child's
 * executions, whose names are made at run time (`execution:<machine>*`).
 */
function acknowledgeChildExecutions(machine: IConstruct, children: IStateMachine[]): void {
  const ids = children.map((child) =>
    wildcardResource(`${nagArn(machine, 'states')}execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalIdOf(child)}"}]}]}*`),
  );
  acknowledge(machine, ids, 'startExecution.sync must describe and stop the child executions it starts, whose names are made at run time.');
}
