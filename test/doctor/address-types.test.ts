import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { IpAllowlistedApi, Upstream } from '../../lib';
import { newStack, TempOutdirs } from '../lib/synth-helpers';

/*
 * docs/doctor.md: "The admin API is IPv4-only", a public REGIONAL endpoint, so on a dual-stack protected API an
 * IPv6-capable client is seen by the two APIs under different addresses, and whoami shows the IPv4 one.
 */

const outdirs = new TempOutdirs();
afterAll(() => outdirs.cleanup());

test('a dual-stack protected API keeps an IPv4-only, regional admin API', () => {
  const stack = newStack(outdirs);
  const api = new IpAllowlistedApi(stack, 'Api', {
    upstream: Upstream.http('https://upstream.example.com'),
    ipAddressType: apigateway.IpAddressType.DUAL_STACK,
  });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<
    string,
    { Properties: Record<string, unknown> }
  >;
  const endpointOf = (restApi: apigateway.RestApi) =>
    resources[stack.getLogicalId(restApi.node.defaultChild as CfnElement)].Properties.EndpointConfiguration as {
      Types: string[];
      IpAddressType?: string;
    };

  const admin = endpointOf(api.adminApi.api);

  expect(endpointOf(api.api).IpAddressType).toBe('dualstack');
  expect(admin.Types).toEqual(['REGIONAL']);
  // Absent means API Gateway's default, ipv4.
  expect(admin.IpAddressType ?? 'ipv4').toBe('ipv4');
});
