/**
 * Runs `fn` with `console.error` captured instead of printed, for a test that expects a library (aws-cdk-lib's
 * template validation, say) to print: the test asserts what was printed, and `npm test` stays quiet.
 */
export function withConsoleErrorCaptured<T>(fn: () => T): { result: T; printed: string } {
  const chunks: string[] = [];
  const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    chunks.push(args.map(String).join(' '));
  });
  try {
    return { result: fn(), printed: chunks.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

/** The rules named by aws-cdk-lib's template validation report in `printed` (`Acknowledge with '<rule>'`), once each. */
export function validationRulesIn(printed: string): string[] {
  return [...new Set(printed.match(/(?<=Acknowledge with ')[^']+/g) ?? [])];
}

/**
 * What aws-cdk-lib's CloudFormation validation prints for a SpecRestApi that the authorizer protects: W3660, "Defining
 * 'Body' with a relation to resource ... of type 'AWS::ApiGateway::GatewayResponse' may result in drift", once per
 * gateway response the construct adds beside the API's OpenAPI definition. A consumer's synth prints it too.
 */
export const OPENAPI_BODY_DRIFT = ['CloudFormation-Validate::W3660'];
