/**
 * Named errors of the compliance tasks; Step Functions matches the `name`.
 */

/** The check's plan is not in S3: the task was started without (or before) plan. */
export class CompliancePlanMissingError extends Error {
  override readonly name = 'CompliancePlanMissingError';
  constructor(readonly checkId: string) {
    super(`compliance check ${checkId} has no plan (compliance/${checkId}/plan.json)`);
  }
}

export class ComplianceBatchNotFoundError extends Error {
  override readonly name = 'ComplianceBatchNotFoundError';
  constructor(
    readonly checkId: string,
    readonly index: number,
  ) {
    super(`compliance check ${checkId} has no batch ${index} (or it was never sent)`);
  }
}
