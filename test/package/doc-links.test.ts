import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/**
 * Every relative link in README.md and docs/*.md lands on a file that exists and, when it names an anchor, on a
 * heading (GitHub's slugs) or an explicit `id`/`name` that the target has. Links are read with a CommonMark parser,
 * so text in code blocks is not taken for a link.
 */

interface CommonMarkNode {
  type: string;
  destination: string | null;
  literal: string | null;
  level: number;
}
interface CommonMark {
  Parser: new () => {
    parse(text: string): { walker(): { next(): { entering: boolean; node: CommonMarkNode } | null } };
  };
}
// jsii-rosetta's and jsii-pacmak's Markdown parser, installed with them (one test does not justify a package of its
// own and its types in the lockfile), so the little of it used here is typed here.
const commonmark = createRequire(__filename)('commonmark') as CommonMark;

const root = path.join(__dirname, '..', '..');
const docs = [
  'README.md',
  ...fs
    .readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Links and headings of a Markdown file, as CommonMark reads it. */
function parse(file: string): { links: string[]; headings: string[] } {
  const walker = new commonmark.Parser().parse(fs.readFileSync(file, 'utf8')).walker();
  const links: string[] = [];
  const headings: string[] = [];
  let heading: string | undefined;
  for (let step = walker.next(); step; step = walker.next()) {
    const { entering, node } = step;
    if (node.type === 'link' && entering && node.destination) links.push(node.destination);
    if (node.type === 'heading') heading = entering ? '' : (headings.push(heading!), undefined);
    else if (heading !== undefined && (node.type === 'text' || node.type === 'code')) heading += node.literal ?? '';
  }
  return { links, headings };
}

/** The anchors GitHub gives a Markdown file: heading slugs (repeats numbered) and explicit ids and names. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const heading of parse(file).headings) {
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  for (const [, id] of fs.readFileSync(file, 'utf8').matchAll(/ (?:id|name)="([^"]+)"/g)) anchors.add(id);
  return anchors;
}

test.each(docs)('every relative link in %s resolves to a file and anchor', (doc) => {
  const from = path.join(root, doc);
  const broken = parse(from)
    .links.filter((link) => !/^[a-z][a-z0-9+.-]*:/i.test(link))
    .filter((link) => {
      const [target, anchor] = decodeURI(link).split('#');
      const file = target === '' ? from : path.resolve(path.dirname(from), target);
      if (!fs.existsSync(file)) return true;
      return anchor !== undefined && (!file.endsWith('.md') || !anchorsOf(file).has(anchor));
    });

  expect(broken).toEqual([]);
});

test('the check reads links and anchors the way GitHub renders them', () => {
  const readme = parse(path.join(root, 'README.md'));
  const anchors = anchorsOf(path.join(root, 'docs', 'local-mode.md'));

  expect(readme.links).toContain('docs/architecture.md#propagation-delay');
  expect(readme.links).not.toContain('http://127.0.0.1:8080/hello'); // a URL in a code block is no link
  expect(anchors).toContain('npm-start-options'); // "`npm start` options"
  expect(anchors).toContain('what-local-mode-runs-and-how-faithfully');
  expect(anchorsOf(path.join(root, 'API.md'))).toContain('cdk-ip-allowlist.IpAllowlistedApiProps');
});
