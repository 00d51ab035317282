/**
 * In-memory Systems Manager Compliance: PutComplianceItems,
 * ListComplianceItems, ListResourceComplianceSummaries. Kept small: the
 * parity check stores one custom compliance type per instance and reads it back.
 */
import { z } from 'zod';

export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNSPECIFIED'] as const;
type Severity = (typeof SEVERITIES)[number];

export const PutComplianceItemsInput = z.object({
  ResourceId: z.string().min(1).max(100),
  ResourceType: z.string().min(1).max(50),
  ComplianceType: z.string().regex(/^([A-Za-z0-9_-]\w+|Custom:[a-zA-Z0-9_-]\w+)$/, 'ComplianceType must be a known type or Custom:<name>').max(100),
  ExecutionSummary: z.object({
    ExecutionTime: z.number(),
    ExecutionId: z.string().max(100).optional(),
    ExecutionType: z.string().max(50).optional(),
  }),
  Items: z
    .array(
      z.object({
        Id: z.string().max(100).optional(),
        Title: z.string().max(500).optional(),
        Severity: z.enum(SEVERITIES),
        Status: z.enum(['COMPLIANT', 'NON_COMPLIANT']),
        Details: z.record(z.string(), z.string()).optional(),
      }),
    )
    .max(10_000),
  ItemContentHash: z.string().max(256).optional(),
  UploadType: z.enum(['COMPLETE', 'PARTIAL']).optional(),
});
type PutInput = z.infer<typeof PutComplianceItemsInput>;

const StringFilter = z.object({
  Key: z.string().min(1),
  Values: z.array(z.string()).min(1),
  Type: z.enum(['EQUAL', 'NOT_EQUAL', 'BEGIN_WITH', 'LESS_THAN', 'GREATER_THAN']).optional(),
});
export const ListComplianceItemsInput = z.object({
  Filters: z.array(StringFilter).optional(),
  ResourceIds: z.array(z.string()).optional(),
  ResourceTypes: z.array(z.string()).optional(),
  NextToken: z.string().optional(),
  MaxResults: z.number().int().min(1).max(50).optional(),
});
export const ListResourceComplianceSummariesInput = z.object({
  Filters: z.array(StringFilter).optional(),
  NextToken: z.string().optional(),
  MaxResults: z.number().int().min(1).max(50).optional(),
});

interface StoredItem {
  ComplianceType: string;
  ResourceType: string;
  ResourceId: string;
  Id: string;
  Title: string;
  Status: 'COMPLIANT' | 'NON_COMPLIANT';
  Severity: Severity;
  ExecutionSummary: PutInput['ExecutionSummary'];
  Details: Record<string, string>;
}

function matches(value: string, filter: z.infer<typeof StringFilter>): boolean {
  switch (filter.Type ?? 'EQUAL') {
    case 'EQUAL':
      return filter.Values.includes(value);
    case 'NOT_EQUAL':
      return !filter.Values.includes(value);
    case 'BEGIN_WITH':
      return filter.Values.some((v) => value.startsWith(v));
    case 'LESS_THAN':
      return filter.Values.some((v) => value < v);
    case 'GREATER_THAN':
      return filter.Values.some((v) => value > v);
  }
}

export class ComplianceStore {
  /** `${resourceType}|${resourceId}|${complianceType}` → items */
  private readonly byResource = new Map<string, StoredItem[]>();

  put(input: PutInput): void {
    const key = `${input.ResourceType}|${input.ResourceId}|${input.ComplianceType}`;
    const incoming: StoredItem[] = input.Items.map((item, index) => ({
      ComplianceType: input.ComplianceType,
      ResourceType: input.ResourceType,
      ResourceId: input.ResourceId,
      Id: item.Id ?? String(index),
      Title: item.Title ?? '',
      Status: item.Status,
      Severity: item.Severity,
      ExecutionSummary: input.ExecutionSummary,
      Details: item.Details ?? {},
    }));
    // COMPLETE replaces every item of this type on the resource; PARTIAL merges by Id.
    if ((input.UploadType ?? 'COMPLETE') === 'COMPLETE') {
      this.byResource.set(key, incoming);
      return;
    }
    const merged = new Map((this.byResource.get(key) ?? []).map((item) => [item.Id, item]));
    for (const item of incoming) merged.set(item.Id, item);
    this.byResource.set(key, [...merged.values()]);
  }

  private allItems(): StoredItem[] {
    return [...this.byResource.values()].flat();
  }

  listItems(input: z.infer<typeof ListComplianceItemsInput>): StoredItem[] {
    return this.allItems().filter(
      (item) =>
        (!input.ResourceIds || input.ResourceIds.includes(item.ResourceId)) &&
        (!input.ResourceTypes || input.ResourceTypes.includes(item.ResourceType)) &&
        (input.Filters ?? []).every((f) => {
          const field = (item as unknown as Record<string, unknown>)[f.Key];
          return typeof field === 'string' && matches(field, f);
        }),
    );
  }

  summaries(input: z.infer<typeof ListResourceComplianceSummariesInput>): unknown[] {
    const out: Record<string, unknown>[] = [];
    for (const items of this.byResource.values()) {
      const first = items[0];
      if (!first) continue;
      const nonCompliant = items.filter((i) => i.Status === 'NON_COMPLIANT');
      const severityCounts = (list: StoredItem[]) => ({
        CriticalCount: list.filter((i) => i.Severity === 'CRITICAL').length,
        HighCount: list.filter((i) => i.Severity === 'HIGH').length,
        MediumCount: list.filter((i) => i.Severity === 'MEDIUM').length,
        LowCount: list.filter((i) => i.Severity === 'LOW').length,
        InformationalCount: list.filter((i) => i.Severity === 'INFORMATIONAL').length,
        UnspecifiedCount: list.filter((i) => i.Severity === 'UNSPECIFIED').length,
      });
      const compliant = items.filter((i) => i.Status === 'COMPLIANT');
      const summary = {
        ComplianceType: first.ComplianceType,
        ResourceType: first.ResourceType,
        ResourceId: first.ResourceId,
        Status: nonCompliant.length > 0 ? 'NON_COMPLIANT' : 'COMPLIANT',
        // The most severe non-compliant item decides; all-compliant resources report UNSPECIFIED.
        OverallSeverity: SEVERITIES.find((s) => nonCompliant.some((i) => i.Severity === s)) ?? 'UNSPECIFIED',
        ExecutionSummary: first.ExecutionSummary,
        CompliantSummary: { CompliantCount: compliant.length, SeveritySummary: severityCounts(compliant) },
        NonCompliantSummary: { NonCompliantCount: nonCompliant.length, SeveritySummary: severityCounts(nonCompliant) },
      };
      const ok = (input.Filters ?? []).every((f) => {
        const field = (summary as Record<string, unknown>)[f.Key];
        return typeof field === 'string' && matches(field, f);
      });
      if (ok) out.push(summary);
    }
    return out;
  }
}
