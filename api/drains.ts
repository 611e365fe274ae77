/**
 * ferry's own extension for host drains (docs/drain.md), under /ferry/v1 since Nova has none:
 * POST /hosts/{name}/drain, POST /hosts/{name}/undrain, GET /drains, GET and DELETE /drains/{id}.
 * Admin only; errors in Nova's form.
 */
import {
  abortDrain,
  listDrains,
  parseDuration,
  planHostDrain,
  showDrain,
  startDrain,
  undrainHost,
} from '../client/drain';
import { requireAdmin } from './auth';
import { asApiError } from './errors';
import type { ApiDeps, RequestContext, Route } from './router';
import { validate, type Schema } from './schema';

const INSTANCE_REF: Schema = { type: 'string', minLength: 1, maxLength: 255 };

const DRAIN: Schema = {
  type: 'object',
  properties: {
    dryRun: { type: 'boolean' },
    concurrency: { type: 'integer', minimum: 1, maximum: 1000 },
    attempts: { type: 'integer', minimum: 1, maximum: 100 },
    deadline: { type: 'string', minLength: 1, maxLength: 32 },
    exclude: { type: 'array', items: INSTANCE_REF, maxItems: 10000 },
  },
};

const UNDRAIN: Schema = {
  type: 'object',
  properties: {
    return: { type: 'boolean' },
    concurrency: { type: 'integer', minimum: 1, maximum: 1000 },
  },
};

interface DrainBody {
  dryRun?: boolean;
  concurrency?: number;
  attempts?: number;
  deadline?: string;
  exclude?: string[];
}

/** Runs a request-layer call, its refusals answered in Nova's form. */
async function refusing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asApiError(error);
  }
}

export function drainRoutes(deps: ApiDeps): Route[] {
  const { config, db, client } = deps;
  const admin = (context: RequestContext, action: string) =>
    requireAdmin(context.caller, `ferry:drains:${action}`);
  return [
    {
      method: 'POST',
      path: '/hosts/:name/drain',
      async handle(context) {
        admin(context, 'create');
        const body = await context.body();
        validate(DRAIN, body);
        const options = body as DrainBody;
        const host = context.params.name;
        return refusing(async () => {
          if (options.dryRun === true) {
            const items = await planHostDrain(db, client, { host, exclude: options.exclude });
            return { status: 200, body: { plan: { host, items } } };
          }
          const drain = await startDrain(db, client, config, {
            host,
            concurrency: options.concurrency,
            attempts: options.attempts,
            deadlineSeconds:
              options.deadline === undefined
                ? undefined
                : parseDuration('deadline', options.deadline),
            exclude: options.exclude,
            requestedBy: context.caller.requestedBy,
          });
          return { status: 202, body: { drain } };
        });
      },
    },
    {
      method: 'POST',
      path: '/hosts/:name/undrain',
      async handle(context) {
        admin(context, 'undrain');
        const body = await context.body();
        validate(UNDRAIN, body);
        const options = body as { return?: boolean; concurrency?: number };
        return refusing(async () => {
          const undrained = await undrainHost(db, client, config, {
            host: context.params.name,
            moveBack: options.return === true,
            concurrency: options.concurrency,
            requestedBy: context.caller.requestedBy,
          });
          return { status: undrained.drain ? 202 : 200, body: undrained };
        });
      },
    },
    {
      method: 'GET',
      path: '/drains',
      async handle(context) {
        admin(context, 'list');
        return { status: 200, body: { drains: await listDrains(db) } };
      },
    },
    {
      method: 'GET',
      path: '/drains/:id',
      async handle(context) {
        admin(context, 'show');
        const drain = await refusing(() => showDrain(db, client, context.params.id));
        return { status: 200, body: { drain } };
      },
    },
    {
      method: 'DELETE',
      path: '/drains/:id',
      async handle(context) {
        admin(context, 'abort');
        const drain = await refusing(() => abortDrain(db, client, context.params.id));
        return { status: 202, body: { drain } };
      },
    },
  ];
}
