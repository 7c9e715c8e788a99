import * as fs from 'node:fs';
import { dashboardSvgOfExampleApp } from '../../scripts/example-dashboard';
import { DASHBOARD_SVG_PATH } from '../../scripts/render-dashboard';
import { dashboardBodyOf, renderDashboardSvg, resolveToText, TemplateJson } from '../../scripts/dashboard-svg';

/**
 * docs/dashboard.svg (the README's picture of the dashboard) is drawn from the example app's synthesized template by
 * `npm run docs:dashboard`; drawn again here, it must be the same byte for byte.
 */

test('docs/dashboard.svg is what npm run docs:dashboard draws from the example app today', () => {
  const committed = fs.readFileSync(DASHBOARD_SVG_PATH, 'utf8');
  // Compared as text, not as a snapshot: a stale picture is fixed by regenerating it, never by `jest -u`.
  expect(dashboardSvgOfExampleApp()).toBe(committed);
});

describe('resolveToText', () => {
  test('joins an Fn::Join and writes each reference as a placeholder', () => {
    expect(
      resolveToText({
        'Fn::Join': ['', ['{"a":"', { Ref: 'AWS::Region' }, '","b":"', { 'Fn::GetAtt': ['Alarm1', 'Arn'] }, '"}']],
      }),
    ).toBe('{"a":"${AWS::Region}","b":"${Alarm1.Arn}"}');
  });

  test('refuses what it cannot write as text rather than drawing a wrong picture', () => {
    expect(() => resolveToText({ 'Fn::ImportValue': 'x' })).toThrow('cannot write {"Fn::ImportValue":"x"} as text');
  });
});

describe('renderDashboardSvg', () => {
  const template: TemplateJson = {
    Resources: {
      Dash: {
        Type: 'AWS::CloudWatch::Dashboard',
        Properties: {
          DashboardBody: JSON.stringify({
            widgets: [
              {
                type: 'metric',
                x: 12,
                y: 0,
                width: 12,
                height: 6,
                properties: {
                  title: 'Errors <&>',
                  metrics: [['AWS/Lambda', 'Errors', 'FunctionName', 'f', { label: 'Errors', stat: 'Sum' }]],
                },
              },
            ],
          }),
        },
      },
    },
  };

  test('places each widget on the 24-column grid with its title (escaped) and its metrics', () => {
    const svg = renderDashboardSvg(dashboardBodyOf(template), template, 'caption');
    expect(svg).toContain('<rect x="548" y="44" width="520" height="208"');
    expect(svg).toContain('>Errors &lt;&amp;&gt;</text>');
    expect(svg).toContain('Errors<tspan fill="#687078">\u00a0\u00a0·\u00a0\u00a0AWS/Lambda Errors (Sum)</tspan>');
  });

  test('a template without exactly one dashboard is refused', () => {
    expect(() => dashboardBodyOf({ Resources: {} })).toThrow('expected one AWS::CloudWatch::Dashboard, found 0');
  });
});
