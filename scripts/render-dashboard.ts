/*
 * `npm run docs:dashboard`: writes docs/dashboard.svg, the picture of the example app's monitoring dashboard
 * (bin/app.ts), drawn from the synthesized template by scripts/dashboard-svg.ts. test/lib/dashboard-svg.test.ts
 * fails when the committed picture differs from what this writes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dashboardSvgOfExampleApp } from './example-dashboard';

export const DASHBOARD_SVG_PATH = path.join(__dirname, '..', 'docs', 'dashboard.svg');

if (require.main === module) {
  fs.writeFileSync(DASHBOARD_SVG_PATH, dashboardSvgOfExampleApp());
  console.log(`wrote ${path.relative(process.cwd(), DASHBOARD_SVG_PATH)}`);
}
