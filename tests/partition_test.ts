import assert from "node:assert/strict";
import { instanceArn, partitionOf } from "../lib/aws/partition.ts";

Deno.test("regions map to their partitions", () => {
  const cases: Array<[string, string]> = [
    ["us-east-1", "aws"],
    ["eu-west-3", "aws"],
    ["ap-southeast-5", "aws"],
    ["cn-north-1", "aws-cn"],
    ["cn-northwest-1", "aws-cn"],
    ["us-gov-west-1", "aws-us-gov"],
    ["us-iso-east-1", "aws-iso"],
    ["us-isob-east-1", "aws-iso-b"],
    ["eu-isoe-west-1", "aws-iso-e"],
    ["us-isof-south-1", "aws-iso-f"],
    ["eusc-de-east-1", "aws-eusc"],
  ];
  for (const [region, partition] of cases) assert.equal(partitionOf(region), partition, region);
});

Deno.test("instance ARNs use the region's partition", () => {
  assert.equal(
    instanceArn("cn-north-1", "123456789012", "i-0abc"),
    "arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0abc",
  );
  assert.equal(
    instanceArn("us-gov-east-1", "123456789012", "i-0abc"),
    "arn:aws-us-gov:ec2:us-gov-east-1:123456789012:instance/i-0abc",
  );
});
