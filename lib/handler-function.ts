import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HANDLER, handlerCode } from './assets';
import { acknowledgeNagRules } from './nag';

/**
 * Pinned rather than NODEJS_LATEST so that a CDK upgrade never changes the runtime (and the template) behind the
 * user's back. The newest concrete Node.js runtime of aws-cdk-lib, which is what cdk-nag AwsSolutions-L1 asks for.
 */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Graviton: cheaper per GB-second and the bundles are plain JavaScript. */
export const HANDLER_ARCHITECTURE = lambda.Architecture.ARM_64;

/** Options of a function built from one of the package's pre-bundled handlers. */
export interface HandlerFunctionOptions {
  /** The asset folder under assets/ (a key of scripts/bundle.js HANDLERS). */
  readonly asset: string;
  readonly description: string;
  readonly environment: { [name: string]: string };
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The parts created by `createHandlerFunction`, all children of the given scope. */
export interface HandlerFunctionParts {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

/**
 * A Lambda function for one of the package's handlers, with the secure defaults every handler shares: pinned
 * runtime, ARM64, active X-Ray tracing, and its own log group with a retention.
 *
 * The role is written here instead of letting lambda.Function attach AWSLambdaBasicExecutionRole: that managed
 * policy may write to every log group in the account, this one only to the function's own.
 *
 * Construct ids (part of the contract: changing one replaces the resource): `LogGroup`, `ServiceRole`, `Function`.
 */
export function createHandlerFunction(scope: Construct, options: HandlerFunctionOptions): HandlerFunctionParts {
  const logGroup = new logs.LogGroup(scope, 'LogGroup', {
    retention: options.logRetention,
    removalPolicy: options.logRemovalPolicy ?? RemovalPolicy.RETAIN,
  });
  const role = new iam.Role(scope, 'ServiceRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: options.description,
  });
  logGroup.grantWrite(role);

  const fn = new lambda.Function(scope, 'Function', {
    code: handlerCode(options.asset),
    handler: HANDLER,
    runtime: HANDLER_RUNTIME,
    architecture: HANDLER_ARCHITECTURE,
    memorySize: options.memorySize,
    timeout: options.timeout,
    tracing: lambda.Tracing.ACTIVE,
    logGroup,
    role,
    description: options.description,
    environment: options.environment,
  });

  acknowledgeNagRules(role, {
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level ' +
      'permissions, so AWS requires Resource "*" for them. Every other statement of this role names its resources.',
  });

  return { function: fn, role, logGroup };
}
