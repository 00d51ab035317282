/** Host runs with their steps (each step's full output is at its `outputUri`), and the audit log. */
import { z } from 'zod';
import { HostId, RolloutId } from '../models';
import { route } from './http';
import { runView } from './fleets';
import { AuditView, RunView, StepView } from './views';

const Limit = z.coerce.number().int().min(1).max(1000).optional().describe('at most this many, newest first (default 100)');

export const runRoutes = [
  route({
    method: 'GET',
    path: '/runs',
    tag: 'runs',
    summary: 'Runs of a host or of a rollout, newest first',
    query: z.object({ hostId: HostId.optional(), rolloutId: RolloutId.optional(), limit: Limit }),
    response: z.array(RunView),
    run: async ({ query }, { store }) => (await store.listRuns({ ...query, limit: query.limit ?? 100 })).map(runView),
  }),
  route({
    method: 'GET',
    path: '/runs/{runId}',
    tag: 'runs',
    summary: 'One run and its steps in the order they were recorded, each with the SSM command and where its full output is',
    params: z.object({ runId: z.string().uuid() }),
    response: z.object({ run: RunView, steps: z.array(StepView) }),
    run: async ({ params }, { store }) => {
      const run = await store.getRun(params.runId);
      const steps = await store.listSteps(run.id);
      return { run: runView(run), steps: [...steps].sort((a, b) => a.recordedAt - b.recordedAt) };
    },
  }),
  route({
    method: 'GET',
    path: '/audit',
    tag: 'audit',
    summary: 'The append-only audit log: who did what, newest first',
    query: z.object({ hostId: HostId.optional(), rolloutId: RolloutId.optional(), runId: z.string().uuid().optional(), limit: Limit }),
    response: z.array(AuditView),
    run: async ({ query }, { store }) => store.listAudit(query),
  }),
];
