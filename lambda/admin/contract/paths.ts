// The path builder lives in lib/ because the construct builds its grant ARNs with it, and lib/ must not import
// lambda/ for constants (test/lib/contract.test.ts); the handlers, the routes and the CLI keep importing it from here.
export { API_VERSION_PREFIX, resourcePath, resourceUrlPath } from '../../../lib/paths';
export type { ResourceLeaf, ResourceRef } from '../../../lib/paths';
