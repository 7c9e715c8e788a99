import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { allowlistToAttributes, apiKeyToItem } from '../lambda/adapters/items';
import { organizationAllowlistPk, projectScope } from '../lambda/adapters/schema';
import { allowlist, makeTenant } from './fixture';
import { splitPropagationDelay } from '../lambda/core/propagation';
import { generateRanges } from './data';

/**
 * The cost model of docs/performance.md ("Cost model"), as code, so its figures are recomputed by every `npm run bench`.
 * List prices for us-east-1 as stated in PRICES (public AWS pricing pages, as of PRICES.asOf); they change, and
 * other regions differ.
 */

export const PRICES = {
  asOf:
    'us-east-1 list prices from the public AWS pricing pages as last published to our knowledge (DynamoDB on-demand after its ' +
    '2024-11-01 reduction); not re-checked on the run date (this machine has no internet access); prices change, verify before relying',
  lambdaPerMillionRequests: 0.2,
  /** Arm64 (the construct's architecture), first pricing tier. x86_64 is 0.0000166667. */
  lambdaPerGbSecondArm: 0.0000133334,
  /** On-demand, standard table class; one strongly consistent read of up to 4 KB = 1 RRU. */
  dynamoDbPerMillionRru: 0.125,
  wafPerWebAclMonth: 5,
  wafPerRuleMonth: 1,
  wafPerMillionRequests: 0.6,
  apiGatewayRestPerMillion: 3.5,
  sources: {
    lambda: 'https://aws.amazon.com/lambda/pricing/',
    dynamodb: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    waf: 'https://aws.amazon.com/waf/pricing/',
    apiGateway: 'https://aws.amazon.com/api-gateway/pricing/',
    resourcePolicies: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies.html',
    apiGatewayQuotas: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html',
  },
} as const;

/** DynamoDB's item size rules (names + values; lists and maps cost 3 bytes plus 1 per element). */
export function attributeValueBytes(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
  if (v.N !== undefined) return Math.ceil(v.N.replace(/^-/, '').replace(/^0+(?=\d)/, '').length / 2) + 1;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.L !== undefined) return 3 + v.L.reduce((a, x) => a + 1 + attributeValueBytes(x), 0);
  if (v.M !== undefined)
    return 3 + Object.entries(v.M).reduce((a, [k, x]) => a + 1 + Buffer.byteLength(k) + attributeValueBytes(x), 0);
  if (v.B !== undefined) return v.B.length;
  return 0;
}

export function itemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((a, [k, v]) => a + Buffer.byteLength(k) + attributeValueBytes(v), 0);
}

/** RRUs of a strongly consistent read of an item (an absent item still costs 1). */
export function strongReadUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 4096));
}

/** An allowlist item as the admin API writes it, with realistic descriptions and an IAM caller ARN. */
function listItemBytes(entries: number): number {
  const cidrs = generateRanges('ipv4', entries, 7).map((r) => r.cidr);
  const settings = {
    ...allowlist(cidrs),
    entries: cidrs.map((value, i) => ({
      value,
      description: `office egress ${i} (NAT gateway, eu-west-1)`,
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'arn:aws:sts::123456789012:assumed-role/AllowlistAdmin/jane.doe@example.com',
    })),
    updatedBy: 'arn:aws:sts::123456789012:assumed-role/AllowlistAdmin/jane.doe@example.com',
  };
  return itemBytes({ pk: { S: organizationAllowlistPk('org-0123456789abcdef') }, ...allowlistToAttributes(settings) });
}

function keyItemBytes(): number {
  const t = makeTenant({ organizationId: 'org-0123456789abcdef', projectId: 'proj-0123456789abcdef' });
  return itemBytes(
    apiKeyToItem(
      { ...t.record, name: 'production backend' },
      projectScope('org-0123456789abcdef', 'proj-0123456789abcdef'),
    ),
  );
}

export interface CostScenario {
  readonly pairs: number;
  /** The construct's propagationDelay; API Gateway's TTL is the part of it left after the in-memory TTL. */
  readonly propagation_delay_s: number;
  readonly gateway_ttl_s: number;
  readonly authorizer_invocations_per_month: number;
  /** Fraction of requests that reach the authorizer. */
  readonly miss_ratio: number;
  readonly lambda_usd_per_month: number;
  readonly dynamodb_usd_per_month: number;
  readonly usd_per_million_requests: number;
  readonly waf_usd_per_million_requests: number;
}

export interface CostModel {
  readonly prices: typeof PRICES;
  readonly assumptions: Record<string, unknown>;
  readonly read_units_per_cold_decision: Record<string, number>;
  readonly item_bytes: Record<string, number>;
  readonly usd_per_million_invocations: Record<string, number>;
  readonly scenarios: CostScenario[];
}

const MONTH_S = 30 * 24 * 3600;

/**
 * @param requestsPerMonth the API's traffic, spread over `pairs` (key, IP) pairs that are each active in every
 *   TTL window (the worst case for the cache: a pair idle for a whole window costs nothing in it).
 */
export function costModel(
  options: { requestsPerMonth?: number; memoryMb?: number; billedMsPerInvocation?: number; listEntries?: number } = {},
): CostModel {
  const requestsPerMonth = options.requestsPerMonth ?? 100_000_000;
  const memoryGb = (options.memoryMb ?? 512) / 1024;
  const billedMs = options.billedMsPerInvocation ?? 10;
  const entries = options.listEntries ?? 50;
  const keyBytes = keyItemBytes();
  const listBytes = listItemBytes(entries);
  const smallListBytes = listItemBytes(5);
  // The authorizer reads the key, the org list and the project list in one BatchGetItem; a missing list still costs 1.
  const rru = {
    [`org list of ${entries}, no project list`]: strongReadUnits(keyBytes) + strongReadUnits(listBytes) + 1,
    [`org and project lists of ${entries}`]: strongReadUnits(keyBytes) + 2 * strongReadUnits(listBytes),
    'lists of 5 entries (or none)': strongReadUnits(keyBytes) + 2 * strongReadUnits(smallListBytes),
  };
  const rruTypical = rru[`org list of ${entries}, no project list`];
  const lambdaPerInvocation =
    PRICES.lambdaPerMillionRequests / 1e6 + memoryGb * (billedMs / 1000) * PRICES.lambdaPerGbSecondArm;
  const dynamoPerInvocation = (rruTypical * PRICES.dynamoDbPerMillionRru) / 1e6;
  const scenarios: CostScenario[] = [];
  for (const delay of [60, 300, 3600]) {
    const ttl = splitPropagationDelay(delay).gatewayTtlSeconds;
    for (const pairs of [100, 1_000, 10_000, 100_000]) {
      const invocations = Math.min(requestsPerMonth, pairs * Math.ceil(MONTH_S / ttl));
      const lambda = invocations * lambdaPerInvocation;
      const dynamo = invocations * dynamoPerInvocation;
      scenarios.push({
        pairs,
        propagation_delay_s: delay,
        gateway_ttl_s: ttl,
        authorizer_invocations_per_month: invocations,
        miss_ratio: Number((invocations / requestsPerMonth).toPrecision(3)),
        lambda_usd_per_month: Number(lambda.toFixed(2)),
        dynamodb_usd_per_month: Number(dynamo.toFixed(2)),
        usd_per_million_requests: Number((((lambda + dynamo) / requestsPerMonth) * 1e6).toPrecision(3)),
        waf_usd_per_million_requests: Number(
          (
            PRICES.wafPerMillionRequests +
            ((PRICES.wafPerWebAclMonth + PRICES.wafPerRuleMonth) / requestsPerMonth) * 1e6
          ).toPrecision(3),
        ),
      });
    }
  }
  return {
    prices: PRICES,
    assumptions: {
      requests_per_month: requestsPerMonth,
      authorizer_memory_mb: options.memoryMb ?? 512,
      architecture: 'arm64',
      billed_ms_per_invocation: billedMs,
      billed_ms_note:
        'a gateway-cache miss almost always misses the in-memory cache too (its TTL is at most 2 s), so each invocation is assumed to wait for one ' +
        'BatchGetItem; 10 ms is a conservative in-region figure (the warm decision itself is microseconds, billed as 1 ms)',
      list_entries: entries,
      pairs_active_every_window: true,
      init_billing:
        'INIT duration of new execution environments is billed too (since 2025-08); amortized over thousands of invocations, left out',
    },
    read_units_per_cold_decision: rru,
    item_bytes: { api_key: keyBytes, [`list_of_${entries}`]: listBytes, list_of_5: smallListBytes },
    usd_per_million_invocations: {
      lambda: Number((lambdaPerInvocation * 1e6).toFixed(4)),
      dynamodb: Number((dynamoPerInvocation * 1e6).toFixed(4)),
      total: Number(((lambdaPerInvocation + dynamoPerInvocation) * 1e6).toFixed(4)),
    },
    scenarios,
  };
}
