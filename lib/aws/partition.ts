/**
 * AWS partitions and instance ARNs (pure).
 *
 * @module
 */

/** Region prefixes of the partitions other than `aws`, most specific first. */
const PARTITIONS: ReadonlyArray<[prefix: string, partition: string]> = [
  ["cn-", "aws-cn"],
  ["us-gov-", "aws-us-gov"],
  ["us-isob-", "aws-iso-b"],
  ["us-isof-", "aws-iso-f"],
  ["us-iso-", "aws-iso"],
  ["eu-isoe-", "aws-iso-e"],
  ["eusc-", "aws-eusc"],
];

/** The partition a region belongs to (`aws`, `aws-cn`, `aws-us-gov`, the ISO partitions…). */
export function partitionOf(region: string): string {
  return PARTITIONS.find(([prefix]) => region.startsWith(prefix))?.[1] ?? "aws";
}

/**
 * The ARN of an EC2 instance, in its region's partition.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { instanceArn } from "./partition.ts";
 * assert.equal(instanceArn("cn-north-1", "123456789012", "i-1"), "arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-1");
 * ```
 */
export function instanceArn(region: string, accountId: string, instanceId: string): string {
  return `arn:${partitionOf(region)}:ec2:${region}:${accountId}:instance/${instanceId}`;
}
