/** Compliance over time: the completed checks, newest first, with each fleet's counts; one check's host results. */
import { z } from 'zod';
import { FleetId } from '../models';
import { notFound, route } from './http';
import { ComplianceCheckView, ComplianceCountsView, ComplianceResultView } from './views';

const CheckWithCounts = ComplianceCheckView.extend({ fleets: z.array(ComplianceCountsView) });

export const complianceReadRoutes = [
  route({
    method: 'GET',
    path: '/compliance/checks',
    tag: 'compliance',
    summary: 'Completed compliance checks, newest first, with the counts of each fleet they covered',
    query: z.object({ fleetId: FleetId.optional(), limit: z.coerce.number().int().min(1).max(100).optional().describe('default 24') }),
    response: z.array(CheckWithCounts),
    run: async ({ query }, { store }) => {
      const out: z.input<typeof CheckWithCounts>[] = [];
      let before: string | undefined;
      for (let i = 0; i < (query.limit ?? 24); i++) {
        const check = await store.latestComplianceCheck({ ...(query.fleetId ? { fleetId: query.fleetId } : {}), ...(before ? { before } : {}) });
        if (!check) break;
        const fleets = (await store.complianceCounts(check.id)).filter((c) => !query.fleetId || c.fleetId === query.fleetId);
        out.push({ ...check, fleets });
        before = check.id;
      }
      return out;
    },
  }),
  route({
    method: 'GET',
    path: '/compliance/checks/{checkId}',
    tag: 'compliance',
    summary: 'One compliance check and every host\'s result in it (state, reasons, running and pinned versions)',
    params: z.object({ checkId: z.string().uuid() }),
    query: z.object({ fleetId: FleetId.optional() }),
    response: z.object({ check: CheckWithCounts, results: z.array(ComplianceResultView) }),
    run: async ({ params, query }, { store }) => {
      const check = await store.getComplianceCheck(params.checkId);
      if (!check) throw notFound(`compliance check ${params.checkId}`);
      const [fleets, results] = await Promise.all([store.complianceCounts(check.id), store.listComplianceResults(check.id, query.fleetId ? { fleetId: query.fleetId } : {})]);
      return { check: { ...check, fleets }, results };
    },
  }),
];
