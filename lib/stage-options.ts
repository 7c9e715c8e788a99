import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';

/** What differs between the stages of this package's REST APIs. */
export interface LoggedStageProps {
  readonly stageName: string;
  /** Where the JSON access logs go. */
  readonly accessLogGroup: logs.ILogGroup;
  /** The access log record: field name to `$context` variable, written as one JSON object per request. */
  readonly accessLogFields: { readonly [field: string]: string };
  /** @default apigateway.MethodLoggingLevel.ERROR */
  readonly loggingLevel?: apigateway.MethodLoggingLevel;
  /** @default - no stage limit */
  readonly throttling?: apigateway.ThrottleSettings;
}

/**
 * The stage settings every REST API of this package shares: JSON access logs, execution logs at ERROR, X-Ray
 * tracing and metrics on, and data trace off, because request and response bodies and headers carry API keys
 * (the caller's key on the protected API, newly created keys in admin responses) and must stay out of the logs.
 */
export function loggedStageOptions(props: LoggedStageProps): apigateway.StageOptions {
  return {
    stageName: props.stageName,
    accessLogDestination: new apigateway.LogGroupLogDestination(props.accessLogGroup),
    accessLogFormat: apigateway.AccessLogFormat.custom(JSON.stringify(props.accessLogFields)),
    loggingLevel: props.loggingLevel ?? apigateway.MethodLoggingLevel.ERROR,
    dataTraceEnabled: false,
    tracingEnabled: true,
    metricsEnabled: true,
    throttlingRateLimit: props.throttling?.rateLimit,
    throttlingBurstLimit: props.throttling?.burstLimit,
  };
}
