import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildExampleApp } from '../bin/app';
import { dashboardBodyOf, renderDashboardSvg, TemplateJson } from './dashboard-svg';

/** The example app's dashboard (`-c monitoring=true`) as an SVG: the app synthesized into a temporary directory, removed afterwards. */
export function dashboardSvgOfExampleApp(): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-ip-allowlist-dashboard-'));
  try {
    const { stack } = buildExampleApp({ outdir, context: { 'aws:cdk:version-reporting': false, monitoring: 'true' } });
    const template = Template.fromStack(stack).toJSON() as TemplateJson;
    return renderDashboardSvg(
      dashboardBodyOf(template),
      template,
      'IpAllowlistMonitoring dashboard (drawn from the example app’s synthesized template)',
    );
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}
