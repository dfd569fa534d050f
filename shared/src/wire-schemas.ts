// The browser-safe part of @airlock/shared, as `@airlock/shared/schemas`: the wire schemas (zod)
// and typed results, without anything that needs Node (node:*, node-forge, undici, ws) — the main
// barrel pulls those in. The desktop app's renderer and the Connect API's schemas import this; a
// test bundles it for the browser to keep it so.
export * from './result.js';
export * from './schemas.js';
export * from './helpdesk-schemas.js';
