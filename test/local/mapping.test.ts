import { normalizeSourceIp } from '../../local/gateway';
import {
  checkTemplateSupported,
  evaluateMappingExpression,
  renderTemplate,
  UnsupportedTemplateError,
} from '../../local/mapping';

/* The small pieces of API Gateway's languages local mode implements, and the source IP as API Gateway reports it. */

describe('renderTemplate', () => {
  const scope = {
    context: {
      requestId: 'r-1',
      authorizer: { errorMessage: 'Your IP is not authorized.', quote: 'say "hi"\n' },
      error: { messageString: '"Unauthorized"', responseType: 'UNAUTHORIZED' },
    },
  };

  test.each([
    ['{"m":"$context.authorizer.errorMessage"}', '{"m":"Your IP is not authorized."}'],
    ['{"m":$context.error.messageString}', '{"m":"Unauthorized"}'],
    ['${context.requestId}.', 'r-1.'],
    ['$!context.authorizer.missing|', '|'],
    ['"$context.authorizer.nothing"', '""'],
    ['"$util.escapeJavaScript($context.authorizer.quote)"', '"say \\"hi\\"\\n"'],
    ['price: 5$', 'price: 5$'],
  ])('%s -> %s', (template, expected) => {
    expect(renderTemplate(template, scope)).toBe(expected);
  });

  test('Velocity directives and other $util/$input functions are refused, not rendered wrongly', () => {
    expect(() => checkTemplateSupported('#if($context.x)a#end', 't')).toThrow(UnsupportedTemplateError);
    expect(() => checkTemplateSupported('$util.base64Encode($context.x)', 't')).toThrow(UnsupportedTemplateError);
    expect(() => checkTemplateSupported('$input.body', 't')).toThrow(UnsupportedTemplateError);
    expect(() => checkTemplateSupported('{"a":"#1 $util.escapeJavaScript($context.x)"}', 't')).not.toThrow();
  });
});

describe('evaluateMappingExpression', () => {
  const src = {
    headers: { origin: 'https://a.example' },
    query: { q: '1' },
    path: { proxy: 'a/b' },
    context: { authorizer: { organizationId: 'org-1', n: 5 } },
    stageVariables: {},
  };

  test.each([
    ["'application/json'", 'application/json'],
    ['method.request.header.Origin', 'https://a.example'],
    ['method.request.querystring.q', '1'],
    ['method.request.path.proxy', 'a/b'],
    ['context.authorizer.organizationId', 'org-1'],
    ['context.authorizer.n', '5'],
    ['context.authorizer.missing', undefined],
  ])('%s -> %s', (expr, expected) => {
    expect(evaluateMappingExpression(expr, src)).toBe(expected);
  });

  test('an unknown source is refused', () => {
    expect(() => evaluateMappingExpression('integration.response.body', src)).toThrow(UnsupportedTemplateError);
  });
});

describe('normalizeSourceIp', () => {
  test.each([
    ['::ffff:127.0.0.2', '127.0.0.2'],
    ['::FFFF:203.0.113.9', '203.0.113.9'],
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['2001:db8::ffff:1', '2001:db8::ffff:1'],
    [undefined, ''],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeSourceIp(input)).toBe(expected);
  });
});
