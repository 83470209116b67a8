import { z } from 'zod';
import { ADMIN_SCOPES } from './admin-scopes.ts';
import type { AdminRoute } from './admin.routes.ts';

const json = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' });

const errorBody = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' }, reason: { type: 'string' }, requestId: { type: 'string' } },
  required: ['error', 'message', 'requestId'],
};

/** OpenAPI 3.0 for the admin API, made from the same route table as the router. */
export function openApiDocument(routes: readonly AdminRoute[], issuer: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const pathParams = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const queryParams = r.query
      ? Object.entries(r.query.shape).map(([name, schema]) => ({ name, in: 'query', required: false, schema: json(schema as z.ZodType, 'input') }))
      : [];
    (paths[path] ??= {})[r.method] = {
      operationId: r.operationId,
      summary: r.summary,
      security: [{ chucs: [r.scope] }],
      parameters: [...pathParams, ...queryParams],
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: json(r.body, 'input') } } } } : {}),
      responses: {
        200: { description: 'OK', content: { 'application/json': { schema: json(r.response, 'output') } } },
        ...Object.fromEntries([[400, 'Invalid request'], [401, 'No valid admin access token'], [403, `The token lacks ${r.scope}`], [404, 'Not found'], [409, 'Refused in this state']]
          .map(([code, description]) => [code, { description, content: { 'application/json': { schema: errorBody } } }])),
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'CHUCS admin API',
      version: '1',
      description: 'Access tokens: client credentials at the token endpoint with resource=<issuer>/admin/api and the scopes the client was registered with.',
    },
    servers: [{ url: `${issuer}/admin/api` }],
    components: {
      securitySchemes: {
        chucs: {
          type: 'oauth2',
          flows: { clientCredentials: { tokenUrl: `${issuer}/token`, scopes: Object.fromEntries(ADMIN_SCOPES.map((s) => [s, s])) } },
        },
      },
    },
    paths,
  };
}
