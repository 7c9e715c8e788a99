import {
  compilePolicy,
  iamWildcardMatch,
  InvalidAuthorizerResponseError,
  methodArn,
  parseAuthorizerAnswer,
} from '../../local/gateway/policy';

const ARN = 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod';
const arnFor = (verb: string, p: string) =>
  methodArn({
    region: 'us-east-1',
    accountId: '123456789012',
    apiId: 'abc123',
    stage: 'prod',
    httpMethod: verb,
    path: p,
  });

const allow = (resource: string | string[], action: string | string[] = 'execute-api:Invoke') => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: action, Resource: resource }],
});

describe('methodArn', () => {
  test('is region:account:api/stage/VERB/path without the leading slash', () => {
    expect(arnFor('GET', '/v1/things')).toBe(`${ARN}/GET/v1/things`);
    expect(arnFor('POST', '/')).toBe(`${ARN}/POST/`);
  });
});

describe('IAM wildcards', () => {
  test.each([
    ['*', 'anything/at:all', true],
    [`${ARN}/*/*`, `${ARN}/GET/v1/things`, true],
    [`${ARN}/*/*`, `${ARN}/GET/`, true],
    [`${ARN}/GET/*`, `${ARN}/POST/v1`, false],
    [`${ARN}/GET/v?`, `${ARN}/GET/v1`, true],
    [`${ARN}/GET/v?`, `${ARN}/GET/v12`, false],
    [`${ARN}/GET/v1`, `${ARN}/GET/v1/more`, false],
    [`${ARN}/GET/V1`, `${ARN}/GET/v1`, false],
    ['arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/a.b', `${ARN}/GET/aXb`, false],
    ['a+b(c)', 'a+b(c)', true],
  ])('%s matches %s: %s', (pattern, value, expected) => {
    expect(iamWildcardMatch(pattern, value)).toBe(expected);
  });
});

describe('compilePolicy', () => {
  test('a stage-wide Allow allows every method and path of that stage only', () => {
    const p = compilePolicy(allow(`${ARN}/*/*`));

    expect(p.evaluate(arnFor('GET', '/a'))).toBe('allow');
    expect(p.evaluate(arnFor('DELETE', '/a/b/c'))).toBe('allow');
    expect(p.evaluate(arnFor('GET', '/a').replace('/prod/', '/dev/'))).toBe('implicitDeny');
  });

  test('an Allow for one method ARN does not cover another path or verb', () => {
    const p = compilePolicy(allow(arnFor('GET', '/a')));

    expect(p.evaluate(arnFor('GET', '/a'))).toBe('allow');
    expect(p.evaluate(arnFor('GET', '/b'))).toBe('implicitDeny');
    expect(p.evaluate(arnFor('POST', '/a'))).toBe('implicitDeny');
  });

  test('an explicit Deny wins over a matching Allow, whatever the order', () => {
    const deny = { Effect: 'Deny', Action: 'execute-api:Invoke', Resource: arnFor('GET', '/secret') };
    const allowAll = { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${ARN}/*/*` };

    for (const Statement of [
      [deny, allowAll],
      [allowAll, deny],
    ]) {
      const p = compilePolicy({ Version: '2012-10-17', Statement });
      expect(p.evaluate(arnFor('GET', '/secret'))).toBe('explicitDeny');
      expect(p.evaluate(arnFor('GET', '/public'))).toBe('allow');
    }
  });

  test('actions match case-insensitively and with wildcards; other actions do not apply', () => {
    expect(compilePolicy(allow('*', 'EXECUTE-API:invoke')).evaluate(arnFor('GET', '/'))).toBe('allow');
    expect(compilePolicy(allow('*', 'execute-api:*')).evaluate(arnFor('GET', '/'))).toBe('allow');
    expect(compilePolicy(allow('*', ['s3:GetObject', 'execute-api:Inv?ke'])).evaluate(arnFor('GET', '/'))).toBe(
      'allow',
    );
    expect(compilePolicy(allow('*', 'execute-api:ManageConnections')).evaluate(arnFor('GET', '/'))).toBe(
      'implicitDeny',
    );
  });

  test('NotResource and NotAction invert the match', () => {
    const p = compilePolicy({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'execute-api:Invoke', NotResource: `${ARN}/*/admin/*` },
        { Effect: 'Deny', NotAction: 'execute-api:Invoke', Resource: '*' },
      ],
    });

    expect(p.evaluate(arnFor('GET', '/a'))).toBe('allow');
    expect(p.evaluate(arnFor('GET', '/admin/x'))).toBe('implicitDeny');
  });

  test('a single Statement object (not a list) is accepted, as IAM accepts it', () => {
    const p = compilePolicy({
      Version: '2012-10-17',
      Statement: { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: '*' },
    });

    expect(p.evaluate(arnFor('GET', '/'))).toBe('allow');
  });

  test.each([
    ['no document', undefined],
    ['no statements', { Version: '2012-10-17', Statement: [] }],
    ['a bad Effect', { Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] }],
    ['no Action', { Statement: [{ Effect: 'Allow', Resource: '*' }] }],
    ['no Resource', { Statement: [{ Effect: 'Allow', Action: '*' }] }],
    ['a non-string Resource', { Statement: [{ Effect: 'Allow', Action: '*', Resource: [1] }] }],
    ['a Condition', { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { IpAddress: {} } }] }],
  ])('%s is an invalid answer', (_what, doc) => {
    expect(() => compilePolicy(doc)).toThrow(InvalidAuthorizerResponseError);
  });
});

describe('parseAuthorizerAnswer', () => {
  const policyDocument = allow('*');

  test('keeps principalId and flat context values', () => {
    const a = parseAuthorizerAnswer({
      principalId: 'k1',
      policyDocument,
      context: { s: 'x', n: 1, b: false, gone: null },
    });

    expect(a.principalId).toBe('k1');
    expect(a.context).toEqual({ s: 'x', n: 1, b: false });
  });

  test.each([
    ['not an object', 'Allow'],
    ['no principalId', { policyDocument }],
    ['a nested context value', { principalId: 'k', policyDocument, context: { o: { a: 1 } } }],
    ['an array context value', { principalId: 'k', policyDocument, context: { a: [1] } }],
  ])('rejects %s', (_what, answer) => {
    expect(() => parseAuthorizerAnswer(answer)).toThrow(InvalidAuthorizerResponseError);
  });
});
