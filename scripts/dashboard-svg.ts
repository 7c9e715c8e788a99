/*
 * A picture of a CloudWatch dashboard's layout, drawn from a synthesized CloudFormation template (never from a
 * screenshot): the `AWS::CloudWatch::Dashboard`'s DashboardBody, an Fn::Join of JSON text and references, is joined
 * with each reference written as a `${LogicalId}` / `${LogicalId.Attribute}` placeholder, parsed, and each widget
 * drawn on CloudWatch's 24-column grid with its title and what it shows: the metrics' labels, the alarm annotations,
 * the alarms of an alarm status widget and the keys and filters of a Contributor Insights rule (both read from their
 * resources in the same template).
 *
 * Used by scripts/render-dashboard.ts (`npm run docs:dashboard`, which writes docs/dashboard.svg) and by
 * test/lib/dashboard-svg.test.ts, which renders it again and fails when the committed picture is stale.
 */

/** A CloudFormation template, as far as this module reads it. */
export interface TemplateJson {
  readonly Resources: Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>;
}

/** One widget of a dashboard body (CloudWatch's dashboard body structure). */
export interface DashboardWidget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: Record<string, unknown>;
}

/** A dashboard body: its widgets (the other fields are not drawn). */
export interface DashboardBody {
  readonly widgets: DashboardWidget[];
}

/**
 * A CloudFormation value written as text: strings as they are, `Fn::Join` joined, and every reference as a
 * placeholder (`${Logical}`, `${Logical.Attribute}`, `${AWS::Region}`), which contains no JSON metacharacter.
 */
export function resolveToText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  const node = value as Record<string, unknown> | null;
  if (node && Array.isArray(node['Fn::Join'])) {
    const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(resolveToText).join(delimiter);
  }
  if (node && typeof node.Ref === 'string') return `\${${node.Ref}}`;
  if (node && Array.isArray(node['Fn::GetAtt'])) return `\${${(node['Fn::GetAtt'] as string[]).join('.')}}`;
  throw new Error(`cannot write ${JSON.stringify(value)} as text`);
}

/** The body of the template's only dashboard, its references as placeholders. */
export function dashboardBodyOf(template: TemplateJson): DashboardBody {
  const dashboards = Object.values(template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
  if (dashboards.length !== 1) throw new Error(`expected one AWS::CloudWatch::Dashboard, found ${dashboards.length}`);
  return JSON.parse(resolveToText(dashboards[0].Properties?.DashboardBody)) as DashboardBody;
}

/** One line a widget shows, with the colour of its legend swatch (none for plain text). */
interface Line {
  readonly text: string;
  readonly detail?: string;
  readonly colour?: string;
  readonly dashed?: boolean;
}

/** CloudWatch's default graph palette, in the order it assigns colours to a graph's metrics. */
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const ANNOTATION_COLOUR = '#d62728';

/** What a metric widget's `metrics` entry shows: its label, and where it comes from. */
function metricLine(entry: unknown[], colour: string): Line {
  const last = entry[entry.length - 1];
  const options = (typeof last === 'object' && last !== null ? last : {}) as Record<string, unknown>;
  if (typeof options.expression === 'string') {
    return { text: String(options.label ?? options.id), detail: options.expression, colour };
  }
  const [namespace, metricName] = entry as string[];
  const label = typeof options.label === 'string' ? options.label : metricName;
  const stat = typeof options.stat === 'string' ? options.stat : 'Average';
  return { text: label, detail: `${namespace} ${metricName} (${stat})`, colour };
}

/** The placeholder `${Logical.Attribute}` (or `${Logical}`) as its logical id. */
function logicalIdOf(placeholder: string): string | undefined {
  return /^\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}$/.exec(placeholder)?.[1];
}

function linesOf(widget: DashboardWidget, template: TemplateJson): Line[] {
  const p = widget.properties;
  if (widget.type === 'alarm') {
    return ((p.alarms as string[] | undefined) ?? []).map((arn, i) => {
      const id = logicalIdOf(arn);
      const alarm = id ? template.Resources[id]?.Properties : undefined;
      if (!alarm) return { text: arn };
      const comparison =
        alarm.ComparisonOperator === 'GreaterThanOrEqualToThreshold' ? '>=' : String(alarm.ComparisonOperator);
      return {
        text: `${String(alarm.MetricName)} ${comparison} ${String(alarm.Threshold)}`,
        detail: `${String(alarm.DatapointsToAlarm)} of ${String(alarm.EvaluationPeriods)} x ${String(alarm.Period)} s, missing data: ${String(alarm.TreatMissingData)}`,
        colour: PALETTE[i % PALETTE.length],
      };
    });
  }
  if (widget.type === 'text') return [{ text: String(p.markdown) }];
  if (p.insightRule) {
    const rule = p.insightRule as { maxContributorCount: number; ruleName: string };
    const lines: Line[] = [{ text: `Contributor Insights: top ${rule.maxContributorCount} contributors` }];
    const id = logicalIdOf(rule.ruleName);
    const body = id ? template.Resources[id]?.Properties?.RuleBody : undefined;
    if (body !== undefined) {
      const parsed = JSON.parse(resolveToText(body)) as {
        LogGroupNames: string[];
        Contribution: { Keys: string[]; Filters?: Record<string, unknown>[] };
      };
      lines.push({ text: `keys: ${parsed.Contribution.Keys.join(', ')}` });
      for (const filter of parsed.Contribution.Filters ?? []) {
        const { Match, ...condition } = filter;
        const conditions = Object.entries(condition).map(
          ([operator, operand]) => `${operator} ${JSON.stringify(operand)}`,
        );
        lines.push({ text: `filter: ${String(Match)} ${conditions.join(' and ')}` });
      }
      lines.push({ text: `log group: ${parsed.LogGroupNames.join(', ')}` });
    }
    return lines;
  }
  const metrics = ((p.metrics as unknown[][] | undefined) ?? []).map((m, i) =>
    metricLine(m, PALETTE[i % PALETTE.length]),
  );
  const annotations = (
    ((p.annotations as { horizontal?: { label?: string; value: number }[] } | undefined)?.horizontal ?? []) as {
      label?: string;
      value: number;
    }[]
  ).map((a): Line => ({ text: `alarm threshold: ${a.label ?? a.value}`, colour: ANNOTATION_COLOUR, dashed: true }));
  return [...metrics, ...annotations];
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Cuts `text` to what fits in `width` pixels at about `charWidth` per character. */
function fit(text: string, width: number, charWidth: number): string {
  const max = Math.max(4, Math.floor(width / charWidth));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const COLUMN = 44;
const ROW = 36;
const GAP = 8;
const MARGIN = 16;
const HEADER = 40;

/** The empty axes of a graph below its legend (the picture shows the layout, not data). */
function plotArea(x: number, top: number, width: number, bottom: number): string[] {
  if (bottom - top < 30) return [];
  const grid = [1, 2, 3].map((i) => {
    const gy = Math.round(top + ((bottom - top) * i) / 4);
    return `<line x1="${x}" y1="${gy}" x2="${x + width}" y2="${gy}" stroke="#eaeded"/>`;
  });
  return [...grid, `<line x1="${x}" y1="${bottom}" x2="${x + width}" y2="${bottom}" stroke="#aab7b8"/>`];
}

/** An SVG picture of the dashboard's grid: each widget's box, title and lines. Deterministic for a given input. */
export function renderDashboardSvg(body: DashboardBody, template: TemplateJson, caption: string): string {
  const rows = Math.max(0, ...body.widgets.map((w) => w.y + w.height));
  const width = MARGIN * 2 + 24 * COLUMN;
  const height = HEADER + rows * ROW + MARGIN;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#f2f3f3"/>`,
    `<text x="${MARGIN}" y="26" font-size="15" font-weight="bold" fill="#16191f">${escapeXml(caption)}</text>`,
  ];
  for (const widget of body.widgets) {
    const x = MARGIN + widget.x * COLUMN + GAP / 2;
    const y = HEADER + widget.y * ROW + GAP / 2;
    const w = widget.width * COLUMN - GAP;
    const h = widget.height * ROW - GAP;
    const title = typeof widget.properties.title === 'string' ? widget.properties.title : widget.type;
    out.push(
      `<g>`,
      `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="4" fill="#ffffff" stroke="#d5dbdb"/>`,
      `<text x="${x + 12}" y="${y + 22}" font-size="14" font-weight="bold" fill="#16191f">${escapeXml(fit(title, w - 24, 8))}</text>`,
    );
    const lines = linesOf(widget, template);
    const twoColumns = widget.type === 'alarm' && widget.width >= 16;
    lines.forEach((line, i) => {
      const column = twoColumns ? i % 2 : 0;
      const row = twoColumns ? Math.floor(i / 2) : i;
      const columnWidth = twoColumns ? (w - 24) / 2 : w - 24;
      const lx = x + 12 + column * columnWidth;
      const ly = y + 44 + row * 20;
      if (ly > y + h - 6) return;
      let tx = lx;
      if (line.colour) {
        out.push(
          line.dashed
            ? `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 14}" y2="${ly - 4}" stroke="${line.colour}" stroke-width="2" stroke-dasharray="3 2"/>`
            : `<rect x="${lx}" y="${ly - 9}" width="14" height="10" fill="${line.colour}"/>`,
        );
        tx = lx + 20;
      }
      // No-break spaces: SVG collapses ordinary ones.
      const text = line.detail ? `${line.text}\u00a0\u00a0·\u00a0\u00a0${line.detail}` : line.text;
      const fitted = fit(text, lx + columnWidth - tx, 6.6);
      const cut = line.detail && fitted.length > line.text.length ? fitted.slice(line.text.length) : '';
      out.push(
        `<text x="${tx}" y="${ly}" font-size="12" fill="#16191f">${escapeXml(cut ? line.text : fitted)}` +
          (cut ? `<tspan fill="#687078">${escapeXml(cut)}</tspan>` : '') +
          `</text>`,
      );
    });
    if (widget.type === 'metric') out.push(...plotArea(x + 12, y + 44 + lines.length * 20, w - 24, y + h - 12));
    out.push(`</g>`);
  }
  out.push('</svg>', '');
  return out.join('\n');
}
