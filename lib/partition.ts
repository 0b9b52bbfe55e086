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

/** The ARN of an EC2 instance, in its region's partition. */
export function instanceArn(region: string, accountId: string, instanceId: string): string {
  return `arn:${partitionOf(region)}:ec2:${region}:${accountId}:instance/${instanceId}`;
}

/** The EventBridge endpoint a client for `region` talks to, for messages. */
export function eventsEndpoint(region: string, override?: string): string {
  if (override) return override;
  const suffix = partitionOf(region) === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://events.${region}.${suffix}`;
}
